"""The trie of every item's SID token ids, built once per tokenizer, and the rows a sample must never get."""

from __future__ import annotations

from ..semantic_ids.sids import sid_token
from ..semantic_ids.store import Codebook
from .search import sid_token_rows
from .trie import SidTrie
from ..lm.vocab import KIND_TOKENS, sid_token_ids


def sid_token_sequences(codebook: Codebook, tokenizer) -> list[list[int]]:
    """Token ids of every item's SID, in SemanticIds row order; each distinct token looked up once (a token
    at a time through the tokenizer took 12 s on 200,000 items)."""
    codes = [tuple(map(int, row)) for row in codebook.sids.codes]
    tokens = sorted({(level, code) for row in codes for level, code in enumerate(row)})
    token_id = dict(zip(tokens, sid_token_ids(tokenizer, [sid_token(level, code) for level, code in tokens])))
    return [[token_id[level, code] for level, code in enumerate(row)] for row in codes]


def rejection_token(tokenizer) -> int:
    """The negative kind token: in a stream, what follows an item the user rejected."""
    return tokenizer.convert_tokens_to_ids(KIND_TOKENS["negative"])


def rejection_sequences(codebook: Codebook, tokenizer) -> list[list[int]]:
    """A stream model's candidates: every item's SID followed by the negative kind token (met, then rejected)."""
    reject = rejection_token(tokenizer)
    return [sequence + [reject] for sequence in sid_token_sequences(codebook, tokenizer)]


def model_vocab(tokenizer, model) -> int:
    """Token ids a trie over `model`'s outputs covers: the tokenizer's, or more where the output rows are padded."""
    return max(len(tokenizer), model.get_output_embeddings().weight.shape[0])


def item_trie(codebook: Codebook, tokenizer, vocab_size: int) -> tuple[SidTrie, dict[tuple[int, ...], int]]:
    sequences = sid_token_sequences(codebook, tokenizer)
    return SidTrie.build(sequences, vocab_size, tokenizer.eos_token_id), sid_token_rows(sequences)


def seen_rows(codebook: Codebook, items) -> list[int]:
    """Codebook rows of a sample's seen items (`data.samples.seen_items`), which decoding never returns."""
    rows_of = codebook.sids.item_to_row
    return sorted({rows_of[i] for i in items if i in rows_of})
