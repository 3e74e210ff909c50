"""kill -9 during checkpoint saves: whatever the moment, the checkpoint that lists is whole and consistent."""

import json
import time

import pytest
from safetensors.torch import load_file

from conrec_core.lm.checkpoints import (STATE_META, TRAINING_FILE, checkpoints_dir, list_checkpoints, load_checkpoint,
                                        weights_problem)
from harness import REPO, kill, log_lines, start, wait_for
from save_loop import MARKER

# kill moments: as the staging folder appears, while the weights are written, late in the save
DELAYS = (0.0, 0.004, 0.02)


def assert_whole(workspace, saved_at_least: int) -> None:
    listed = {info.name: info for info in list_checkpoints(workspace)}  # settles an interrupted save
    assert "looped" in listed
    info = listed["looped"]
    step = info.training["step"]
    assert step >= saved_at_least
    assert weights_problem(info.folder, info.training) is None
    assert load_file(str(info.folder / "model.safetensors"))[MARKER][0, 0].item() == step  # weights of that step
    assert json.loads((info.folder / STATE_META).read_text())["step"] == step  # and its resume state
    assert [p.name for p in checkpoints_dir(workspace).iterdir() if p.name.startswith(".")] == []
    load_checkpoint(info.folder)


@pytest.mark.parametrize("delay", DELAYS)
def test_a_save_killed_at_any_moment_leaves_a_whole_checkpoint(tiny_checkpoint, tmp_path, delay):
    _, result = tiny_checkpoint
    workspace = tmp_path / "ws.duckdb"
    log = tmp_path / "save.log"
    process = start([str(REPO / "tests" / "faults" / "save_loop.py"), str(result.folder), str(workspace)], log)
    try:
        wait_for(lambda: any(line.startswith("saved 2") for line in log_lines(log)), process)
        folder = checkpoints_dir(workspace)
        wait_for(lambda: any(p.name.startswith(".looped.new-") for p in folder.iterdir()), process)
        time.sleep(delay)
    finally:
        kill(process)
    assert_whole(workspace, saved_at_least=2)


def test_a_save_killed_between_its_two_renames_is_finished_on_the_next_listing(tiny_checkpoint, tmp_path):
    """The one moment with no checkpoint folder at all: the old one is retired, the new one not yet in place."""
    import shutil

    _, result = tiny_checkpoint
    workspace = tmp_path / "ws.duckdb"
    folder = checkpoints_dir(workspace)
    folder.mkdir(parents=True)
    shutil.copytree(result.folder, folder / ".tiny.new-999999999")  # a PID no process has
    shutil.copytree(result.folder, folder / ".tiny.old-999999999")
    assert [info.name for info in list_checkpoints(workspace)] == ["tiny"]
    assert (folder / "tiny" / TRAINING_FILE).is_file()
    assert sorted(p.name for p in folder.iterdir()) == ["tiny"]
