"""The hostile-input corpus (tests/data/bad/): every file and mapping there is refused with its exact message,
and the workspace it was imported over stays byte-identical, with nothing left beside it.

A case is a folder: the input (events.csv / events.csv.gz / events.parquet, or a MovieLens folder named in
case.json), mapping.json when the import needs one, and expected.txt, the message with `{case}` for the folder.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conrec_core.data.importer import import_source
from conrec_core.errors import ConrecError

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
GOOD_LOG = ("user_id,item_id,ts,action\nu1,i1,1700000000,dislike\nu1,i2,1700000600,click\n"
            "u2,i1,1700001200,dislike\nu2,i2,1700086400,dislike\n")
GOOD_MAPPING = {"events": {"user": "user_id", "item": "item_id", "time": "ts",
                           "kind": {"column": "action", "negative": ["dislike"], "positive": ["click"]}}}


def refusal(folder: Path, workspace: Path) -> str:
    """The message importing the case at `folder` into `workspace` fails with."""
    options = json.loads((folder / "case.json").read_text()) if (folder / "case.json").is_file() else {}
    source = folder / options["source"] if "source" in options else next(folder.glob("events.*"))
    mapping = folder / "mapping.json" if (folder / "mapping.json").is_file() else None
    with pytest.raises(ConrecError) as refused:
        import_source(source, workspace, format=options.get("format", "auto"), mapping=mapping)
    return str(refused.value)


def state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def good_workspace(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    (folder / "log.csv").write_text(GOOD_LOG)
    (folder / "mapping.json").write_text(json.dumps(GOOD_MAPPING))
    import_source(folder / "log.csv", folder / "ws.duckdb", mapping=folder / "mapping.json")
    return folder / "ws.duckdb"


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert all((CORPUS / case / "expected.txt").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_input_is_refused_with_its_message_and_the_workspace_is_untouched(case, good_workspace, tmp_path):
    folder = shutil.copytree(CORPUS / case, tmp_path / case)
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    workspace = workspaces / "ws.duckdb"
    shutil.copy(good_workspace, workspace)
    before = state(workspaces)
    message = refusal(folder, workspace)
    expected = (CORPUS / case / "expected.txt").read_text().strip().replace("{case}", str(folder))
    assert message == expected
    assert "\n" not in message and "Traceback" not in message
    assert state(workspaces) == before  # byte-identical, and no staging file or WAL left beside it
