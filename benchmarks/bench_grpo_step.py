"""One GRPO step (sampling, rewards, old and reference log-probabilities, two updates): each prompt run once per
group against once per completion, and completion logits only against the logits of every prompt position.

    python -m benchmarks.bench_grpo_step [--workspace WS] [--checkpoint NAME] [--steps 10]

`sequence_logprobs` runs each prompt once and repeats its KV cache over the group's completions, and asks for
the logits of the completion's positions alone (`logits_to_keep`). The second path runs the prompt once per
completion; the third also computes every position's logits and slices them
afterwards. All run the same steps (same seeds, stage 1's prompt) in turn on one
policy. Prints the median step time of each, the ratios, and the largest difference of the log-probabilities
the paths give one batch. Default: the synthetic
sample's workspace and its first SFT checkpoint (`pipeline --sample synthetic-shop` makes one).
"""

from __future__ import annotations

import os
import statistics
import time

from .checkpoint_choice import checkpoint_parser, workspace_and_checkpoint

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = checkpoint_parser(__doc__)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    import torch

    import conrec_core.rl.grpo as grpo
    from conrec_core.rl.grpo_config import GRPOConfig
    from conrec_core.rl.grpo_loss import constrained_logprobs

    workspace, checkpoint = workspace_and_checkpoint(args, stage="sft")
    config = GRPOConfig()
    run, _ = grpo.prepare_run(workspace, checkpoint, config)
    ours = grpo.sequence_logprobs

    def per_completion(model, inputs, completions, allowed, steps, group_size=1):
        return ours(model, inputs, completions, allowed, steps)

    def every_position(model, inputs, completions, allowed, steps, group_size=1):
        return constrained_logprobs(model(**inputs).logits[:, -steps - 1:-1], completions, allowed)

    paths = {"prompt once per group, completion logits": ours,
             "prompt once per completion, completion logits": per_completion,
             "prompt once per completion, every position's logits": every_position}
    names = list(paths)
    times = {name: [] for name in names}
    for step in range(args.steps + 1):
        for name in names[step % len(names):] + names[:step % len(names)]:  # each path first in turn
            grpo.sequence_logprobs = paths[name]
            started = time.perf_counter()
            grpo.grpo_step(run, config.stages[0], 0, step, config.betas[0])
            if step:  # step 0 warms every path up
                times[name].append(time.perf_counter() - started)
    grpo.sequence_logprobs = ours

    rollouts = grpo.sample_completions(run.policy.eval(), run.tokenizer, run.trie,
                                       run.prompts(config.stages[0], run.train[:8]), run.seen_rows(run.train[:8]),
                                       config.group_size, config.temperature)
    allowed = grpo.allowed_tokens(run.trie, rollouts.completions, rollouts.remaining, config.group_size)
    inputs, steps = grpo.model_inputs(rollouts), rollouts.completions.shape[1]
    with torch.no_grad():
        figures = [path(run.reference, inputs, rollouts.completions, allowed, steps, config.group_size)
                   for path in paths.values()]
    gap = max((f - figures[-1]).abs()[torch.isfinite(f)].max().item() for f in figures[:-1])
    seconds = {name: statistics.median(times[name]) for name in names}
    print(f"workspace {workspace}, checkpoint {checkpoint!r}, {config.prompts_per_step} prompts x "
          f"{config.group_size} completions, {config.updates_per_batch} updates, {args.steps} steps each, "
          f"{torch.get_num_threads()} threads")
    for name in names:
        print(f"{name:<54} {seconds[name]:6.3f} s/step")
    shared, per_copy, every = (seconds[name] for name in names)
    print(f"speed-up of one pass per prompt {per_copy / shared:.2f}x (against every position's logits "
          f"{every / shared:.2f}x); largest log-probability difference on one batch: {gap:.2e}")


if __name__ == "__main__":
    main()
