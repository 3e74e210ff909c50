"""One GRPO step (sampling, rewards, old and reference log-probabilities, two updates): completion logits only
against the logits of every prompt position.

    python -m benchmarks.bench_grpo_step [--workspace WS] [--checkpoint NAME] [--steps 10]

`sequence_logprobs` asks the model for the logits of the completion's positions alone (`logits_to_keep`); the
reference computes every position's logits and slices them afterwards, as the step did before. Both run the
same steps (same seeds, stage 1's prompt) alternately on one policy. Prints the median step time of each, the
ratio, and the largest difference of the two paths' log-probabilities on one batch. Default: the synthetic
sample's workspace and its first SFT checkpoint (`pipeline --sample synthetic-shop` makes one).
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks.checkpoint_choice import checkpoint_parser, workspace_and_checkpoint

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

    def every_position(model, inputs, completions, allowed, steps):
        return constrained_logprobs(model(**inputs).logits[:, -steps - 1:-1], completions, allowed)

    times = {"completion": [], "every": []}
    for step in range(args.steps + 1):
        for name in ("completion", "every") if step % 2 else ("every", "completion"):
            grpo.sequence_logprobs = ours if name == "completion" else every_position
            started = time.perf_counter()
            grpo.grpo_step(run, config.stages[0], 0, step, config.betas[0])
            if step:  # step 0 warms both up
                times[name].append(time.perf_counter() - started)
    grpo.sequence_logprobs = ours

    rollouts = grpo.sample_completions(run.policy.eval(), run.tokenizer, run.trie,
                                       run.prompts(config.stages[0], run.train[:8]), run.seen_rows(run.train[:8]),
                                       config.group_size, config.temperature)
    allowed = grpo.allowed_tokens(run.trie, rollouts.completions, rollouts.remaining, config.group_size)
    inputs, steps = grpo.model_inputs(rollouts), rollouts.completions.shape[1]
    with torch.no_grad():
        gap = (ours(run.reference, inputs, rollouts.completions, allowed, steps)
               - every_position(run.reference, inputs, rollouts.completions, allowed, steps)).abs()
    gap = gap[torch.isfinite(gap)].max().item()
    fast, slow = (statistics.median(times[n]) for n in ("completion", "every"))
    print(f"workspace {workspace}, checkpoint {checkpoint!r}, {config.prompts_per_step} prompts x "
          f"{config.group_size} completions, {config.updates_per_batch} updates, {args.steps} steps each, "
          f"{torch.get_num_threads()} threads")
    print(f"every position's logits     {slow:6.3f} s/step")
    print(f"completion logits only      {fast:6.3f} s/step")
    print(f"speed-up {slow / fast:.2f}x; largest log-probability difference on one batch: {gap:.2e}")


if __name__ == "__main__":
    main()
