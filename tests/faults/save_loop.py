"""A process that saves one checkpoint over and over, each save with its own step written into the weights:
`python save_loop.py SOURCE_CHECKPOINT WORKSPACE` (tests/faults kill it mid-save)."""

import sys
from pathlib import Path

import torch

from conrec_core.lm.checkpoints import checkpoint_dir, load_checkpoint, save_weights

MARKER = "model.embed_tokens.weight"  # its [0, 0] holds the step the weights belong to


def main(source: str, workspace: str) -> None:
    backbone, training = load_checkpoint(Path(source), trainable=True)
    parameters = dict(backbone.model.named_parameters())
    optimizer = torch.optim.AdamW(parameters.values(), lr=1e-3)
    for step in range(1, 100_000):
        for parameter in parameters.values():  # optimiser moments exist after a step
            parameter.grad = torch.zeros_like(parameter)
        optimizer.step()
        with torch.no_grad():
            parameters[MARKER][0, 0] = float(step)
        save_weights(checkpoint_dir(workspace, "looped"), backbone, {**training, "step": step}, optimizer)
        print(f"saved {step}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
