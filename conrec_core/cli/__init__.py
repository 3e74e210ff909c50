"""Command line: `python -m conrec_core COMMAND --help`.

Every setting's option is generated from its config field (conrec_core/config.py), so its name, help, bounds
and default are written once, on the field."""

from __future__ import annotations

import argparse
import sys
import traceback

import duckdb
from safetensors import SafetensorError

from ..errors import ConrecError
from ..quiet import quiet_libraries
from . import data_commands, evaluation_commands, maintenance_commands, model_commands

DESCRIPTION = "conrec: learn what users dislike from explicit negative feedback."
EPILOG = """examples:
  python -m conrec_core import sample_data/movielens-small --workspace ws/ml.duckdb
  python -m conrec_core import log.csv --mapping mapping.json --workspace ws/shop.duckdb
  python -m conrec_core info --workspace ws/ml.duckdb --json
  python -m conrec_core samples --workspace ws/shop.duckdb --split global --window-days 3
  python -m conrec_core sft --workspace ws/ml.duckdb --name sft --backbone tiny
  python -m conrec_core grpo --workspace ws/ml.duckdb --checkpoint sft --name grpo
  python -m conrec_core predict --workspace ws/ml.duckdb --checkpoint sft --users 1 7 42
  python -m conrec_core pipeline --workspace ws/shop.duckdb --out reports/shop
  python -m conrec_core pipeline --sample synthetic-shop --out reports/synthetic-shop
  python -m conrec_core doctor --workspace ws/ml.duckdb
  accelerate launch --multi_gpu --num_processes 2 -m conrec_core grpo --workspace ws/ml.duckdb --checkpoint sft
"""
MODULES = (data_commands, model_commands, evaluation_commands, maintenance_commands)


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and the handler of each command."""
    parser = argparse.ArgumentParser(prog="python -m conrec_core", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers = {}
    for module in MODULES:
        handlers.update(module.register(commands))
    for command in commands.choices.values():
        for action in command._actions:
            if not action.help and action.option_strings:
                action.help = STANDARD_HELP.get(action.option_strings[0])
    return parser, handlers


# The options many commands share, said once: a command's own help for one of them wins.
STANDARD_HELP = {"--workspace": "the workspace file (made by import)",
                 "--json": "print the result as JSON instead of text",
                 "--split": "which split's samples (default %(default)s)",
                 "--baselines": "baselines to score (default: all of them)"}


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # the report records the command that made it
    try:
        return handlers[args.command](args)
    except ConrecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the machine's side (a missing file, a full disk), not a bug: one line
        print(f"error: {error}", file=sys.stderr)
        return 2
    except duckdb.Error as error:  # the database refused a file or a query: its first line says why
        print(f"error: the database says: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except SafetensorError as error:  # writing weights failed (a full disk): the saves stage and rename, so
        print(f"error: could not write the weights: {error}", file=sys.stderr)  # nothing half-written is kept
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug: the traceback is what a report needs
        traceback.print_exc()
        print("error: this is a bug in conrec; the traceback above is what a report needs", file=sys.stderr)
        return 1
