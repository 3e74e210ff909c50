"""Whether a stage's output from an earlier run can be kept: the workspace side of the one resume rule
(`lm.checkpoint_paths.finished_as_configured`), for checkpoints and codebooks."""

from __future__ import annotations

from ..data.samples import samples_fingerprint
from ..errors import ConrecError
from ..lm.checkpoint_paths import checkpoint_dir, finished_as_configured, read_training, settle
from ..semantic_ids.store import load_codebook


def checkpoint_kept(workspace, name: str, settings: dict, codebook: str = "default", warmup: str | None = None
                    ) -> bool:
    """Whether checkpoint `name` finished training with exactly `settings` (record key -> config) on the
    workspace's current samples and codebook `codebook`: a rerun (after a later stage failed, or to add a
    baseline) keeps it instead of training it again."""
    settle(checkpoint_dir(workspace, name).parent)  # a save killed between its renames counts once finished
    try:
        training = read_training(checkpoint_dir(workspace, name))
        fitted = (samples_fingerprint(workspace), load_codebook(workspace, codebook).fingerprint)
    except (ConrecError, OSError, ValueError):  # no such checkpoint, an unreadable record, a stale codebook
        return False
    return finished_as_configured(training, settings, fitted, warmup)


def sft_kept(workspace, name: str, sft_config, backbone, codebook: str) -> bool:
    return checkpoint_kept(workspace, name, {"sft": sft_config, "backbone": backbone}, codebook)


def grpo_kept(workspace, name: str, grpo_config, backbone, warmup: str, codebook: str) -> bool:
    return checkpoint_kept(workspace, name, {"grpo": grpo_config, "backbone": backbone}, codebook, warmup)


def codebook_kept(workspace, name: str, config) -> bool:
    """Whether codebook `name` exists, fits the workspace's items and samples, and was fitted with exactly the SID
    settings of `config` (a `CodebookConfig`, with codes enough for the catalogue; its code decoder may differ)."""
    try:
        book = load_codebook(workspace, name)
    except ConrecError:  # missing, its files changed, or fitted on other items or samples
        return False
    return book.config.sid_settings() == config.covering(len(book.sids.item_ids)).sid_settings()
