"""Keep third-party chatter (bitsandbytes' missing-kernel line, transformers' per-shard progress bars, library
warnings) out of what the CLI and jobs print, so conrec's own progress and messages are what a user reads."""

from __future__ import annotations

import logging
import os
import sys
import warnings

LIBRARIES = ("bitsandbytes", "transformers", "peft", "accelerate", "torch", "umap", "sklearn", "numba",
             "sentence_transformers", "huggingface_hub")


def quiet_libraries() -> None:
    """Call as early as possible: some libraries read their switches from the environment only on import."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded at run time
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
    for name in LIBRARIES:
        warnings.filterwarnings("ignore", module=rf"{name}(\..*)?$")
    # transformers reads the switches above once, on import; if it is loaded already, tell it directly. (The
    # CLI loads it only for the commands that need it, so `--help` does not wait for it.)
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging
        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
