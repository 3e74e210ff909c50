"""Constrained beam search the usual way, as the reference our batched trie search is checked (tests/test_decoding.py)
and timed (benchmarks/bench_decoding.py) against: transformers' own `generate` with `prefix_allowed_tokens_fn`
walking a Python dict trie for every beam at every step."""

from __future__ import annotations

from transformers import GenerationConfig


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


def generation_config(tokenizer, config, max_new_tokens: int) -> GenerationConfig:
    return GenerationConfig(
        do_sample=False, num_beams=config.beams, num_return_sequences=config.returns,
        max_new_tokens=max_new_tokens, min_new_tokens=0, length_penalty=0.0, early_stopping=True,
        temperature=1.0, top_k=None, top_p=None, repetition_penalty=1.0, no_repeat_ngram_size=0,
        bad_words_ids=None, forced_bos_token_id=None, forced_eos_token_id=None, suppress_tokens=None,
        begin_suppress_tokens=None, renormalize_logits=False, remove_invalid_values=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.eos_token_id, use_cache=True, output_scores=True, return_dict_in_generate=True)


def reference_decode(model, tokenizer, sequences, token_rows, prompts, config, max_depth,
                     free_end: bool = False) -> list[list[int]]:
    from transformers import LogitsProcessorList

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


def sid_logprobs(model, tokenizer, prompt: str, sequences: list[list[int]], free_end: bool = False) -> list[float]:
    """The reference score, one prompt at a time: summed log-probability of each token sequence (a SID's tokens)
    after `prompt`, plus its closing EOS's unless `free_end` (see decoding.TrieMask)."""
    import torch

    from conrec_core.decoding.batched_search import cache_rows

    if not sequences:
        return []
    model.eval()
    with torch.no_grad():
        device = next(model.parameters()).device
        eos = tokenizer.eos_token_id
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
        output = model(input_ids=ids, use_cache=True)
        first = torch.log_softmax(output.logits[0, -1].float(), dim=-1)
        scores: list[float] = []
        for start in range(0, len(sequences), 256):
            targets = [list(s) + ([] if free_end else [eos]) for s in sequences[start:start + 256]]
            width = max(len(t) for t in targets)
            tokens = torch.tensor([t + [eos] * (width - len(t)) for t in targets], device=device)
            scored = torch.tensor([[j < len(t) for j in range(width)] for t in targets], device=device)
            logprobs = first[tokens[:, 0]][:, None]
            if width > 1:  # padding sits after each sequence's last token, so causal attention never reads it
                cache = cache_rows(output.cache, torch.zeros(len(targets), dtype=torch.long, device=device))
                step = model(input_ids=tokens[:, :-1], cache=cache, use_cache=True)
                rest = torch.log_softmax(step.logits.float(), dim=-1).gather(-1, tokens[:, 1:, None])[..., 0]
                logprobs = torch.cat([logprobs, rest], dim=1)
            scores += (logprobs * scored).sum(dim=1).tolist()
        return scores
