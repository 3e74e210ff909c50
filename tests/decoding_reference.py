"""Constrained beam search the usual way, as the reference our batched trie mask is checked (tests/test_decoding.py)
and timed (benchmarks/bench_decoding.py) against: transformers' own `generate` with `prefix_allowed_tokens_fn`
walking a Python dict trie for every beam at every step."""

from __future__ import annotations


def python_trie_prefix_fn(sequences: list[list[int]], eos: int, prompt_width: int):
    """The per-beam reference: a nested dict trie walked in Python for each beam and step."""
    tree: dict = {}
    for tokens in sequences:
        node = tree
        for token in list(tokens) + [eos]:
            node = node.setdefault(token, {})

    def allowed(batch_id, input_ids):
        node = tree
        for token in input_ids[prompt_width:].tolist():
            node = node.get(token, {})
        return list(node) or [eos]
    return allowed


def free_forced_end(eos_token_id: int):
    """A logits processor that, after transformers' own prefix constraint, makes an EOS that is the only
    finite choice cost nothing (as TrieMask does): written here from the rule, not from TrieMask."""
    import torch
    from transformers import LogitsProcessor

    class FreeForcedEnd(LogitsProcessor):
        def __call__(self, input_ids, scores):
            finite = torch.isfinite(scores)
            ended = (finite.sum(-1) == 1) & finite[:, eos_token_id]
            scores[ended, eos_token_id] = 0.0
            return scores

    return FreeForcedEnd()


def reference_decode(model, tokenizer, sequences, token_rows, prompts, config, max_depth,
                     free_end: bool = False) -> list[list[int]]:
    from transformers import LogitsProcessorList

    from conrec_core.decoding.search import generation_config

    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    ranked = []
    for start in range(0, len(prompts), config.batch_size):
        encoded = tokenizer(prompts[start:start + config.batch_size], return_tensors="pt", padding=True,
                            add_special_tokens=False)
        width = encoded["input_ids"].shape[1]
        output = model.generate(**encoded, generation_config=generation_config(tokenizer, config, max_depth),
                                prefix_allowed_tokens_fn=python_trie_prefix_fn(sequences, tokenizer.eos_token_id,
                                                                               width),
                                logits_processor=LogitsProcessorList(
                                    [free_forced_end(tokenizer.eos_token_id)] if free_end else []))
        generated = output.sequences[:, width:].tolist()
        for prompt in range(len(generated) // config.returns):
            rows = []
            for tokens in generated[prompt * config.returns:(prompt + 1) * config.returns]:
                cut = tokens[:tokens.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in tokens else tokens
                rows.append(token_rows.get(tuple(cut), -1))
            ranked.append(rows)
    tokenizer.padding_side = padding_side
    return ranked
