"""What SFT trains on: examples tokenised, the learning-rate schedule, the batch of each step (a function of
(seed, step) alone, so a resumed run sees the batches an uninterrupted one would have), and LoRA."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..lm.backbones import Backbone
from ..lm.config import SFTConfig
from ..lm.prompts import Example
from ..lm.token_loss import Encoded
from ..lm.vocab import sid_token_ids


def encode(tokenizer, examples: list[Example], max_length: int) -> list[Encoded]:
    """Prompt and target tokenised apart (EOS closes a target that `ends`); long prompts lose their oldest
    tokens."""
    if not examples:  # a task with nothing to learn from (translation on an id-only log)
        return []
    prompts = tokenizer([e.prompt for e in examples], add_special_tokens=False)["input_ids"]
    targets = tokenizer([e.target for e in examples], add_special_tokens=False)["input_ids"]
    encoded = []
    for example, prompt, target in zip(examples, prompts, targets):
        if example.ends:
            target = target + [tokenizer.eos_token_id]
        prompt = prompt[-max(1, max_length - len(target)):]
        encoded.append(Encoded(prompt + target, len(prompt), example.task))
    return encoded


class LazyEncoded(Sequence):
    """`encode` of each example when it is read, nothing kept: a big log's hundreds of thousands of examples
    tokenised at once held gigabytes, where a step reads a batch of them."""

    def __init__(self, tokenizer, examples: list[Example], max_length: int):
        self.tokenizer, self.examples, self.max_length = tokenizer, examples, max_length

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return encode(self.tokenizer, self.examples[index], self.max_length)
        return encode(self.tokenizer, [self.examples[index]], self.max_length)[0]


def learning_rate(step: int, config: SFTConfig, peak: float) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def batch_for_step(encoded: dict[str, Sequence[Encoded]], config: SFTConfig, step: int) -> list[Encoded]:
    rng = np.random.default_rng([config.seed, step])
    tasks = [t for t in config.tasks if encoded.get(t)]
    weights = np.array([config.task_weights[config.tasks.index(t)] for t in tasks])
    picks = rng.choice(len(tasks), config.batch_size, p=weights / weights.sum())
    return [encoded[tasks[p]][rng.integers(len(encoded[tasks[p]]))] for p in picks]


def add_lora(backbone: Backbone, config: SFTConfig, sid_token_list: list[str]):
    """LoRA on every linear layer; the SID rows of the input (and tied output) embeddings train as well."""
    from peft import LoraConfig, get_peft_model

    model = backbone.model
    embedding = model.get_input_embeddings()
    embedding_name = next(name for name, module in model.named_modules() if module is embedding).split(".")[-1]
    indices = sid_token_ids(backbone.tokenizer, sid_token_list)
    targets = {embedding_name: indices}
    output = model.get_output_embeddings()
    if output is not None and output.weight is not embedding.weight:
        targets[next(name for name, module in model.named_modules() if module is output).split(".")[-1]] = indices
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", trainable_token_indices=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)
