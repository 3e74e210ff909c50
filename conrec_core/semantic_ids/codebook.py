"""Build a codebook for a workspace: encode items, train the RQ-VAE, assign SIDs, map, save."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .codebook_config import CodebookConfig
from .store import load_codebook, save_codebook, save_map
from .training import QualityReport, quality_report, train_rqvae
from .encoder import encode_items
from .item_map import map_coordinates
from .sids import SemanticIds, resolve_collisions
from ..data.samples import samples_fingerprint
from ..data.workspace import check_name

Progress = Callable[[float, str], None]
# Share of the progress bar each step gets (training dominates; the map's first fit pays numba's JIT).
STEPS = (("encoding items", 0.15), ("training the RQ-VAE", 0.70), ("assigning SIDs", 0.02),
         ("computing the item map", 0.12), ("saving", 0.01))


@dataclass
class CodebookResult:
    name: str
    fingerprint: str
    report: QualityReport
    parts: dict[str, int]  # encoder part -> items that have it
    config: CodebookConfig  # as fitted: with codes enough for the catalogue (`CodebookConfig.covering`)


def build_codebook(workspace: Path | str, name: str = "default", config: CodebookConfig = CodebookConfig(),
                   compute_map: bool = True, on_progress: Progress = lambda fraction, message: None
                   ) -> CodebookResult:
    check_name(name, "codebook")
    offsets, total = {}, 0.0
    for step, share in STEPS:
        offsets[step] = (total, share)
        total += share

    def progress(step: str) -> Callable[[float, str], None]:
        start, share = offsets[step]
        return lambda fraction, message="": on_progress(start + share * fraction, f"{step}: {message}".rstrip(": "))

    progress("encoding items")(0.0, "")
    features = encode_items(workspace, config.encoder,
                            on_progress=lambda f: progress("encoding items")(f, f"{f:.0%} of new texts"))
    config = config.covering(len(features.item_ids))
    trained = train_rqvae(features.vectors, config, on_progress=progress("training the RQ-VAE"))
    progress("assigning SIDs")(0.0, "")
    full_codes = resolve_collisions(features.item_ids, trained.codes, trained.distances)
    sids = SemanticIds(item_ids=features.item_ids, codes=full_codes, levels=config.levels)
    report = quality_report(trained, config, sids)
    map_xy = None
    if compute_map:
        progress("computing the item map")(0.0, "UMAP")
        map_xy = map_coordinates(trained.latents, seed=config.seed)
    progress("saving")(0.0, "")
    # collaborative vectors are fitted on the training part of the current samples, and dated tags enter the text
    # only from before the cuts: the codebook goes stale with the samples (other text and side vectors do not)
    fitted_on = samples_fingerprint(workspace) if "collaborative" in features.parts or features.dated_text else None
    stamp = save_codebook(workspace, name, trained.model, config, sids, trained.sid_vectors,
                          trained.reconstruction_cosine,
                          {**report.to_dict(), "samples_fingerprint": fitted_on}, map_xy)
    on_progress(1.0, "done")
    return CodebookResult(name=name, fingerprint=stamp, report=report, parts=features.coverage, config=config)


def add_map(workspace: Path | str, name: str = "default",
            on_progress: Progress = lambda fraction, message: None) -> int:
    """The item map of a codebook trained without one, from its stored SID vectors (the quantised latents the
    map of a new codebook is drawn from); returns the number of items placed."""
    book = load_codebook(workspace, name)
    on_progress(0.0, f"UMAP of {len(book.sids.item_ids):,} items")
    map_xy = map_coordinates(book.vectors, seed=book.config.seed)
    on_progress(0.9, "saving")
    save_map(workspace, name, book.sids.item_ids, map_xy)
    on_progress(1.0, "done")
    return len(book.sids.item_ids)

