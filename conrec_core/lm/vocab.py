"""SID tokens in a tokenizer: the offline tokenizer of the tiny model, and extending a pretrained one.

Every SID token is one vocabulary entry, so a SID of L levels is exactly L (or L + 1) tokens and the
decoding trie works on token ids directly.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ..errors import ConrecError
from ..semantic_ids.sids import SemanticIds, sid_token

PAD, EOS, UNK = "<|pad|>", "<|endoftext|>", "<|unk|>"
# a stream model's token after each event's SID: how the user took the item (lm/prompts.py::stream_text)
KIND_TOKENS = {"negative": "<|neg|>", "positive": "<|pos|>", "neutral": "<|neu|>"}


def sid_tokens(sids: SemanticIds, codebook_size: int) -> list[str]:
    """Every token a SID of this codebook can use: all codes of every level, and the collision ranks in use."""
    tokens = [sid_token(level, code) for level in range(sids.levels) for code in range(codebook_size)]
    ranks = [codes[sids.levels] for codes in sids.codes if len(codes) > sids.levels]
    if ranks:
        tokens += [sid_token(sids.levels, rank) for rank in range(max(ranks) + 1)]
    return tokens


def build_tiny_tokenizer(texts: list[str], sid_token_list: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE learnt from `texts` (titles, prompt templates) plus every SID token; no download."""
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS, UNK], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS, unk_token=UNK)
    wrapped.add_tokens(sid_token_list)
    return wrapped


def add_sid_tokens(tokenizer, sid_token_list: list[str]) -> int:
    """Add the SID tokens a pretrained tokenizer lacks (and a pad token if it has none); return how many."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    vocabulary = tokenizer.get_vocab()
    return tokenizer.add_tokens([t for t in sid_token_list if t not in vocabulary])


def sid_token_ids(tokenizer, sid_token_list: list[str]) -> list[int]:
    ids = tokenizer.convert_tokens_to_ids(sid_token_list)
    if any(i is None or i == tokenizer.unk_token_id for i in ids):
        raise ConrecError("the tokenizer is missing SID tokens; was it built for another codebook?")
    return ids
