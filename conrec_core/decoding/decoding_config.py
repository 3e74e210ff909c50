"""Settings of constrained beam search over valid SIDs (method §7)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting

from ..errors import ConfigError


SEARCHES = ("beam", "exact")


@dataclass(frozen=True)
class DecodingConfig(Settings):
    search: str = setting("beam", "beam: constrained beam search (the paper's); exact: every valid SID scored, "
                                  "pruned below the K-th score of a first beam search (decoding/exhaustive.py)",
                          choices=SEARCHES)
    # docs/decisions.md#beams
    beams: int = setting(20, "beam width (paper: 20; 50 finds more of the model's exact top 20)", low=1)
    returns: int = setting(20, "SIDs returned per prompt, best first; at most `beams`", low=1)
    batch_size: int = setting(16, "prompts searched side by side (fewer when their beams would pass 2,048 rows "
                                  "a forward); 16 x 20 beams keeps the tiny model's steps batched",
                              low=1)
    exclude_seen: bool = setting(True, "never return an item the user has already met", cli=False)
    cold_negatives: int = setting(0, "a sample with fewer negatives than this before its anchor gets the "
                                     "most disliked unseen items of the training part instead of the model's "
                                     "SIDs (a sequence model has nothing to read there); 0: never", low=0)
    prior_weight: float = setting(0.0, "weight w of the popularity prior: the beams and the most disliked unseen "
                                       "items re-ranked by log p(SID) + w * log (smoothed share of training "
                                       "negatives; a stream model: log p(SID, rejected) + w * log (smoothed "
                                       "training dislike rate)), see decoding/prior_fusion.py; 0: the model's own "
                                       "ranking; the pipeline chooses it on validation", low=0.0)
    # docs/decisions.md#prior-candidates
    prior_candidates: int = setting(50, "with a prior weight: the unseen items of highest prior added to the beams "
                                        "as candidates", low=0)
    stream_beams: int = setting(100, "a stream model: beams of the items it finds most likely met next, every one "
                                     "then re-ranked by meeting and rejecting (with 20, the re-ranking could only "
                                     "reorder the top 20)", low=1)

    def __post_init__(self):
        super().__post_init__()
        if self.returns > self.beams:
            raise ConfigError(f"returns ({self.returns}) must not exceed beams ({self.beams})")

    def stream_width(self, items_left: int) -> int:
        """A stream model's candidates per sample: `stream_beams` (at least `beams`), but never more than the
        fewest items a sample has left to recommend (a small catalogue), nor fewer than `returns`.

        >>> DecodingConfig().stream_width(9000), DecodingConfig().stream_width(60), DecodingConfig().stream_width(5)
        (100, 60, 20)
        """
        return max(self.returns, min(max(self.beams, self.stream_beams), items_left))
