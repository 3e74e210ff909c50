import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# pytest.ini runs the suite on every core (pytest-xdist). Each worker and the processes its tests start (the
# CLI, Streamlit) take an equal share of the cores: torch's default of one thread per core in every worker
# would make them fight over the same cores. With one thread a worker also runs the pipeline's members and
# baselines in turn (`side_by_side.available_cores`); the tests of running them side by side ask for it.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _main_module_kept():
    """Streamlit's AppTest runs a page as `__main__` and leaves it there; a process spawned later in the same
    worker (members or baselines side by side) would then run that page again on start. The app never meets this:
    its jobs run in `python -m conrec_core.jobs.worker`, whose `__main__` is imported by name."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(scope="session")
def workspaces(tmp_path_factory) -> Path:
    """A workspace folder for the session, so tests never write into the checkout."""
    folder = tmp_path_factory.mktemp("workspaces")
    os.environ["CONREC_WORKSPACES"] = str(folder)
    return folder


@pytest.fixture
def ml_latest(tmp_path) -> Path:
    """A tiny MovieLens folder in the ml-latest layout: 2 users, 4 movies, tags for one."""
    folder = tmp_path / "ml-latest"
    write(folder / "movies.csv", 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
          '2,"Heat, The (1995)",Action|Crime\n3,Nothing (2000),(no genres listed)\n4,Café (2001),Drama\n')
    write(folder / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,1.0,1000\n1,2,4.5,2000\n"
          "1,3,3.0,3000\n2,4,2.0,1500\n2,1,5.0,2500\n")
    write(folder / "tags.csv", "userId,movieId,tag,timestamp\n1,1,Pixar,1000\n2,1,pixar,1001\n2,1,fun,1002\n")
    return folder


@pytest.fixture
def ml_100k(tmp_path) -> Path:
    """A tiny MovieLens folder in the ml-100k layout: tab-separated u.data, latin-1 pipe-separated u.item."""
    folder = tmp_path / "ml-100k"
    flags = ["0"] * 19
    comedy, drama = flags.copy(), flags.copy()
    comedy[5] = "1"
    drama[8], drama[14] = "1", "1"
    write(folder / "u.item", f"1|Amélie (2001)|01-Jan-2001||http://x|{'|'.join(comedy)}\n"
          f'2|"Quoted" Story (1995)|01-Jan-1995||http://y|{"|".join(drama)}\n', encoding="latin-1")
    write(folder / "u.data", "196\t1\t1\t881250949\n196\t2\t5\t881250950\n22\t2\t2\t881250951\n")
    return folder


@pytest.fixture(scope="session")
def sample_codebooks(tmp_path_factory) -> dict:
    """Both sample datasets with a default codebook trained here (real training, map included): name -> (path,
    result). They live apart from the app's workspaces, which keep the codebook shipped with the sample."""
    from conrec_core.semantic_ids.codebook import build_codebook
    from conrec_core.shipped.sample_data import sample_workspace

    folder = tmp_path_factory.mktemp("sample-codebooks")

    class Built(dict):  # each sample's codebook is trained on first use: a run without MovieLens tests skips it
        def __missing__(self, name):
            path = sample_workspace(name, folder)
            self[name] = (path, build_codebook(path))
            return self[name]

    return Built()


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A small synthetic workspace (200 items) for quick codebook runs."""
    from conrec_core.data.importer import import_source
    from conrec_core.data.synthetic import generate_world, write_world
    from conrec_core.data.synthetic_config import WorldConfig

    folder = tmp_path_factory.mktemp("small-world")
    events = write_world(generate_world(WorldConfig(users=60, items=200, shops=20, days=21)), folder)
    import_source(events, folder / "ws.duckdb", mapping=folder / "mapping.json")
    return folder / "ws.duckdb"


@pytest.fixture
def world(small_world, tmp_path) -> Path:
    """A copy of the small world for a test that writes into it (samples rebuilt, Swing built, tuning kept)."""
    return writable_copy(small_world, tmp_path / "world")


@pytest.fixture(scope="session")
def lm_world(small_world, tmp_path_factory) -> Path:
    """A copy of the small world with a small codebook (16 codes per level, so some items need a 4th token).
    Read-only for tests: copy it (`writable_copy`) to write."""
    import shutil

    from conrec_core.semantic_ids.codebook import build_codebook
    from conrec_core.semantic_ids.codebook_config import CodebookConfig

    path = tmp_path_factory.mktemp("lm-world") / "ws.duckdb"
    shutil.copy(small_world, path)
    build_codebook(path, config=CodebookConfig(codebook_size=16, epochs=8, warmup_epochs=3, batch_size=64,
                                               code_decoder_steps=50), compute_map=False)
    return path


def listed_copy(source: Path, workspaces: Path, name: str) -> Path:
    """A copy of a workspace and its artifacts (jobs left out) where the app's sidebar lists it."""
    import shutil

    from conrec_core.data.workspace import artifacts_dir

    workspace = workspaces / f"{name}.duckdb"
    shutil.copy(source, workspace)
    if artifacts_dir(source).exists():  # a workspace with nothing trained yet has no artefacts folder
        shutil.copytree(artifacts_dir(source), artifacts_dir(workspace), ignore=shutil.ignore_patterns("jobs"),
                        dirs_exist_ok=True)
    return workspace


def remove_listed(workspace: Path) -> None:
    import shutil

    from conrec_core.data.workspace import artifacts_dir

    workspace.unlink(missing_ok=True)
    shutil.rmtree(artifacts_dir(workspace), ignore_errors=True)


TINY_STEPS = 60


def writable_copy(source: Path, folder: Path) -> Path:
    """A copy of a workspace and its artifacts in `folder`, for a test that writes: session fixtures stay as
    they were built, whatever order tests run in."""
    import shutil

    from conrec_core.data.workspace import artifacts_dir

    folder.mkdir(parents=True, exist_ok=True)
    workspace = folder / source.name
    shutil.copy(source, workspace)
    if artifacts_dir(source).exists():
        shutil.copytree(artifacts_dir(source), artifacts_dir(workspace), ignore=shutil.ignore_patterns("jobs"))
    return workspace


@pytest.fixture(scope="session")
def tiny_checkpoint(lm_world, tmp_path_factory):
    """The tiny backbone after a short real SFT run on its own copy of the small world: (workspace, SFTResult).
    Read-only for tests: a test that writes takes `tiny_world`."""
    from conrec_core.lm.config import SFTConfig
    from conrec_core.training.sft import train_sft

    workspace = writable_copy(lm_world, tmp_path_factory.mktemp("tiny-checkpoint"))
    config = SFTConfig(steps=TINY_STEPS, eval_every=30, checkpoint_every=30, eval_examples=20, ranking_samples=20)
    return workspace, train_sft(workspace, "tiny", config=config)


@pytest.fixture
def tiny_world(tiny_checkpoint, tmp_path):
    """This test's own copy of the tiny checkpoint's workspace: (workspace, SFTResult with its folder moved)."""
    from dataclasses import replace

    from conrec_core.lm.checkpoints import checkpoint_dir

    source, result = tiny_checkpoint
    workspace = writable_copy(source, tmp_path / "tiny-world")
    return workspace, replace(result, folder=checkpoint_dir(workspace, result.folder.name))


@pytest.fixture(scope="session")
def evaluated_world(workspaces, tiny_checkpoint):
    """A listed copy of the small world with the tiny checkpoint's test predictions and every method scored."""
    from conrec_core.cli import main
    from conrec_core.decoding.predict import predict

    source, _ = tiny_checkpoint
    workspace = listed_copy(source, workspaces, "tiny-evaluated")
    predict(workspace, "tiny", split="test")
    assert main(["evaluate", "--workspace", str(workspace), "--checkpoints", "tiny", "--sasrec-steps", "20",
                 "--sasrec-eval-every", "10", "--sasrec-positives-context", "50"]) == 0
    yield workspace
    remove_listed(workspace)


def shown(text: str) -> str:
    """A page's message as the reader sees it: app/plain.py escapes Markdown in text from data."""
    import re

    return re.sub(r"\\(.)", r"\1", text)

