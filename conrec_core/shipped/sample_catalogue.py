"""The datasets shipped in sample_data/: names and files only, so the CLI lists them without loading the
importer (sample_data.py builds their workspaces)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.synthetic_config import EVENTS_FILE, MAPPING_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO_ROOT / "sample_data"


@dataclass(frozen=True)
class SampleDataset:
    name: str
    title: str
    folder: Path
    source: Path  # what `import` reads
    mapping: Path | None  # column mapping for table sources
    description: str


SAMPLES = {
    "synthetic-shop": SampleDataset(
        name="synthetic-shop", title="Synthetic shop",
        folder=SAMPLE_DATA / "synthetic-shop", source=SAMPLE_DATA / "synthetic-shop" / EVENTS_FILE,
        mapping=SAMPLE_DATA / "synthetic-shop" / MAPPING_FILE,
        description="E-commerce feed with 'not interested' and its reasons: six weeks of simulated shoppers "
                    "with exposure bias; ground-truth dislike profiles in true_dislikes."),
    "movielens-small": SampleDataset(
        name="movielens-small", title="MovieLens (small)",
        folder=SAMPLE_DATA / "movielens-small", source=SAMPLE_DATA / "movielens-small", mapping=None,
        description="ml-latest-small, GroupLens' movie ratings; ratings of 2 or less are dislikes. See its "
                    "README for the licence."),
}
DEFAULT_SAMPLE = "synthetic-shop"
