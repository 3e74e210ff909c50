import argparse
import json
import subprocess
import sys
from dataclasses import replace

import duckdb
import pytest

from conftest import REPO, write


def cli(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "conrec_core", *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_import_then_info_json(ml_latest, tmp_path):
    workspace = tmp_path / "ws.duckdb"
    out = cli("import", ml_latest, "--workspace", workspace).stdout
    assert "imported 5 events" in out
    info = json.loads(cli("info", "--workspace", workspace, "--json").stdout)
    assert {k: info[k] for k in ("users", "items", "events", "negatives", "positives")} == {
        "users": 2, "items": 4, "events": 5, "negatives": 2, "positives": 2}
    assert info["first_event"] == "1970-01-01T00:16:40+00:00" and info["last_event"] == "1970-01-01T00:50:00+00:00"
    assert (info["codebooks"], info["checkpoints"], info["runs"]) == ([], [], [])
    text = cli("info", "--workspace", workspace).stdout
    assert "samples" in text and "codebooks: none" in text and "checkpoints: none" in text


def test_info_lists_what_was_trained_on_the_workspace(tiny_checkpoint):
    workspace, _ = tiny_checkpoint
    info = json.loads(cli("info", "--workspace", workspace, "--json").stdout)
    assert [c["name"] for c in info["codebooks"]] == ["default"] and info["codebooks"][0]["created_at"].endswith(
        "+00:00")
    assert {"name": "tiny", "stage": "sft", "step": 60, "codebook": "default"} in info["checkpoints"]
    assert "  tiny  sft  60  default" in cli("info", "--workspace", workspace).stdout


def test_every_command_says_what_it_does_and_every_option_has_help():
    from conrec_core.cli import build_parser

    parser, handlers = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == set(handlers)
    for name, command in commands.items():
        assert command.description, name
        for action in command._actions:
            assert action.help, (name, action.option_strings or action.dest)
            assert not action.help.lower().startswith(f"{name}:"), (name, action.help)
    readme = (REPO / "README.md").read_text()
    assert all(f"python -m conrec_core {name} " in readme for name in commands)  # the README lists every command


def test_import_json_report_and_sample_rebuild(ml_latest, tmp_path):
    workspace = tmp_path / "ws.duckdb"
    report = json.loads(cli("import", ml_latest, "--workspace", workspace, "--json",
                            "--negative-max", "3").stdout)
    assert report["events"]["events_kept"] == 5 and report["format"] == "movielens"
    counts = json.loads(cli("samples", "--workspace", workspace, "--split", "global", "--json").stdout)
    assert sum(counts.values()) == 3  # ratings 1.0, 3.0 and 2.0 are negatives with --negative-max 3


@pytest.mark.parametrize("args, message", [
    (["import", "missing-folder", "--workspace", "{tmp}/ws.duckdb"], "missing-folder: file or folder not found"),
    (["info", "--workspace", "{tmp}/none.duckdb"], "no workspace here"),
    (["import", "{tmp}/e.csv", "--workspace", "{tmp}/ws.duckdb"], "needs a column mapping"),
    (["import", "{tmp}/e.csv", "--mapping", "{tmp}/m.json", "--workspace", "{tmp}/ws.duckdb"],
     "e.csv, column 'k', row 2: unknown value 'meh'"),
    (["samples", "--workspace", "{tmp}/none.duckdb", "--window-days", "-1"], "window_days must be above 0, not -1.0"),
    (["sft", "--workspace", "{tmp}/none.duckdb"], "no workspace here"),
    (["sft", "--workspace", "{tmp}/none.duckdb", "--backbone", "{tmp}"], "no workspace here"),
    (["predict", "--workspace", "{tmp}/none.duckdb", "--checkpoint", "../x"], "is not allowed"),
    (["ensemble", "--workspace", "{tmp}/none.duckdb", "--members", "a", "b", "--name", "e"], "no workspace here"),
    (["pipeline", "--sample", "synthetic-shop", "--out", "{tmp}/r", "--seed", "1", "--codebook-per-seed",
      "--ship"],
     "start the seeds at --seed 0"),
    (["pipeline", "--sample", "synthetic-shop", "--out", "{tmp}/r", "--tail-quota", "21"],
     "tail_quota must be 'members' or a whole number from 0 to the 20 items each list keeps, not 21"),
    (["pipeline", "--sample", "synthetic-shop", "--out", "{tmp}/r", "--tail-calibration", "1.5"],
     "tail_calibration must be at least 0.0 and at most 1.0, not 1.5"),
    (["pipeline", "--sample", "synthetic-shop", "--out", "{tmp}/r", "--members", "0"],
     "members must be at least 1, not 0"),
])
def test_errors_are_one_line_without_traceback(tmp_path, args, message):
    write(tmp_path / "e.csv", "u,i,t,k\n1,2,3,neg\n1,3,4,meh\n")
    (tmp_path / "m.json").write_text(json.dumps({"events": {"user": "u", "item": "i", "time": "t",
                                                            "kind": {"column": "k", "negative": ["neg"]}}}))
    result = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_help_documents_the_commands():
    text = cli("--help").stdout
    for command in ("import", "info", "samples", "codebook", "sft", "predict", "synthesize"):
        assert command in text
    assert "--mapping" in cli("import", "--help").stdout


def test_the_parser_loads_no_heavy_library():
    """`--help` and option errors answer at once: pandas, torch and transformers load only in the command that
    uses them (benchmarks/bench_cli_startup.py measures the difference)."""
    heavy = ("torch", "pandas", "transformers", "scipy", "sentence_transformers")
    code = ("import sys; from conrec_core.cli import build_parser; build_parser(); "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
    # a pipeline setting out of range is refused before the pipeline's modules (and torch) load
    code = ("import sys; from conrec_core.cli import main; "
            "code = main(['pipeline', '--sample', 'synthetic-shop', '--out', 'r', '--members', '0']); "
            f"print(code, ','.join(m for m in {heavy!r} if m in sys.modules))")
    refused = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert refused.stdout.strip() == "2" and "members must be at least 1" in refused.stderr


def test_a_mistyped_checkpoint_is_named_before_torch_loads(ml_latest, tmp_path):
    """predict and grpo say which checkpoints the workspace has, without paying torch's start-up first."""
    workspace = tmp_path / "ws.duckdb"
    cli("import", ml_latest, "--workspace", workspace)
    for command in (["predict", "--checkpoint", "sft-typo"], ["grpo", "--checkpoint", "sft-typo", "--name", "g"]):
        code = ("import sys; from conrec_core.cli import main; "
                f"code = main({[*command, '--workspace', str(workspace)]!r}); print(code, 'torch' in sys.modules)")
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.stdout.split() == ["2", "False"], result.stderr
        assert result.stderr.strip() == f"error: no checkpoint 'sft-typo' in {workspace}; it has none yet (run sft)"


def test_pipeline_options_reach_its_settings():
    from conrec_core.cli import build_parser
    from conrec_core.cli.evaluation_commands import pipeline_spec as pipeline_config
    from conrec_core.experiment.spec import quick_spec

    parser, _ = build_parser()
    default = pipeline_config(parser.parse_args(["pipeline", "--sample", "synthetic-shop", "--out", "r"]))
    assert default.codebook.encoder.collaborative == "on" and default.seed == 0
    assert default.members == 1 and default.tail_quota == 0 and default.tail_calibration == 0
    assert default.members_side_by_side and default.baselines_side_by_side
    in_turn = parser.parse_args(["pipeline", "--sample", "synthetic-shop", "--out", "r", "--no-members-side-by-side"])
    assert pipeline_config(in_turn) == replace(default, members_side_by_side=False)
    baselines_in_turn = parser.parse_args(["pipeline", "--sample", "synthetic-shop", "--out", "r",
                                           "--no-baselines-side-by-side"])
    assert pipeline_config(baselines_in_turn) == replace(default, baselines_side_by_side=False)
    for text, quota in (("0", 0), ("5", 5), ("members", "members")):
        parsed = parser.parse_args(["pipeline", "--sample", "synthetic-shop", "--out", "r", "--tail-quota", text])
        assert pipeline_config(parsed).tail_quota == quota
    parsed = parser.parse_args(["pipeline", "--sample", "synthetic-shop", "--out", "r", "--tail-calibration", "0.5"])
    assert pipeline_config(parsed) == replace(default, tail_calibration=0.5)
    with pytest.raises(SystemExit):  # argparse's own one-line usage error
        parser.parse_args(["ensemble", "--workspace", "w", "--members", "a", "b", "--name", "e", "--tail-quota", "few"])
    chosen = pipeline_config(parser.parse_args(["pipeline", "--sample", "synthetic-shop", "--out", "r", "--quick",
                                                "--collaborative", "auto", "--seed", "2",
                                                "--codebook-per-seed"]))
    assert chosen.codebook.encoder.collaborative == "auto" and chosen.seed == 2
    assert chosen.codebook.codebook_size == quick_spec().codebook.codebook_size  # --quick kept
    assert chosen == replace(quick_spec().with_collaborative("auto"), codebook_per_seed=True, seed=2)
    # each seed fits its own codebook (seed 0 the default one, which the app opens), its RQ-VAE seed offset
    seeded = chosen.seeded()
    assert (seeded.codebook.seed, seeded.codebook_name) == (default.codebook.seed + 2, "default-s2")
    assert (default.seeded().codebook, default.codebook_name) == (default.codebook, "default")
    shared = replace(chosen, codebook_per_seed=False)  # the default: one codebook for every seed
    assert (shared.seeded().codebook, shared.codebook_name) == (shared.codebook, "default")


def test_synthesize_writes_an_importable_world(tmp_path):
    cli("synthesize", "--out", tmp_path / "world", "--users", 30, "--items", 200, "--days", 14)
    out = cli("import", tmp_path / "world" / "events.parquet", "--mapping", tmp_path / "world" / "mapping.json",
              "--workspace", tmp_path / "ws.duckdb").stdout
    assert "negatives dropped for non-interest reason" in out


def test_the_package_exports_its_api_lazily():
    import conrec_core
    for name in conrec_core.__all__:
        assert getattr(conrec_core, name) is not None
    with pytest.raises(AttributeError):
        conrec_core.not_a_thing


def test_sft_then_predict_from_the_command_line(lm_world, tmp_path):
    import shutil

    from conrec_core.data.workspace import artifacts_dir

    workspace = tmp_path / "ws.duckdb"
    shutil.copy(lm_world, workspace)
    shutil.copytree(artifacts_dir(lm_world) / "codebooks", artifacts_dir(workspace) / "codebooks")
    trained = cli("sft", "--workspace", workspace, "--name", "cli", "--steps", 6, "--eval-every", 3,
                  "--checkpoint-every", 3)
    assert "checkpoint 'cli' after 6 steps" in trained.stdout and "alignment accuracy" in trained.stdout
    for chatter in ("Loading weights", "Writing model shards", "gemm_4bit", "Warning"):  # libraries stay quiet
        assert chatter not in trained.stdout + trained.stderr
    # stderr is a pipe here, not a terminal: conrec's progress comes as plain lines, first and last included
    lines = [line for line in trained.stderr.splitlines() if line.startswith("sft: ")]
    assert lines and lines[0].startswith("sft:   0%") and lines[-1].startswith("sft: 100%"), trained.stderr
    assert len(lines) <= 12  # a line per tenth of the work, not one per step
    missing = cli("predict", "--workspace", workspace, "--checkpoint", "nope", check=False)
    assert missing.returncode == 2 and "no checkpoint 'nope'" in missing.stderr and "checkpoints: cli" in missing.stderr
    users = json.loads(cli("predict", "--workspace", workspace, "--checkpoint", "cli", "--top-k", 5,
                           "--beams", 5, "--json").stdout)
    assert users["invalid"] == 0 and users["k"] == 5 and users["samples"] > 0
    out = cli("predict", "--workspace", workspace, "--checkpoint", "cli", "--split", "validation").stdout
    assert "invalid outputs 0" in out and "FHR@20" in out


@pytest.mark.parametrize("raised, code, first_line", [
    (duckdb.IOException("IO Error: Could not read file \"x.csv\"\nLINE 1: SELECT"), 2,
     'error: the database says: IO Error: Could not read file "x.csv"'),
    (KeyboardInterrupt(), 130, "interrupted"),
    (ZeroDivisionError("a slip"), 1, "Traceback (most recent call last):"),
])
def test_a_command_that_fails_exits_with_its_code_and_says_why(monkeypatch, capsys, raised, code, first_line):
    from conrec_core import cli as entry

    parser, handlers = entry.build_parser()

    def failing(args):
        raise raised

    monkeypatch.setattr(entry, "build_parser", lambda: (parser, {name: failing for name in handlers}))
    assert entry.main(["info", "--workspace", "unused.duckdb"]) == code
    stderr = capsys.readouterr().err
    assert stderr.splitlines()[0] == first_line
    if code == 2:
        assert len(stderr.splitlines()) == 1  # the database's own follow-up lines stay out of it
    if code == 1:
        assert stderr.splitlines()[-1].startswith("error: this is a bug in conrec")


def test_a_weights_write_that_fails_is_one_line_not_a_traceback(monkeypatch, capsys):
    from safetensors import SafetensorError

    from conrec_core import cli as cli_module

    parser, handlers = cli_module.build_parser()

    def full_disk(args):
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")

    monkeypatch.setattr(cli_module, "build_parser", lambda: (parser, {**handlers, "info": full_disk}))
    assert cli_module.main(["info", "--workspace", "any.duckdb"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not write the weights: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
