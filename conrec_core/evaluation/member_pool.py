"""A seed's SID members trained side by side: one process per member (its SFT, then GRPO on it), the CPU cores
shared between them.

The tiny model's training step is mostly Python and small kernels, so a second core speeds one process up much
less than a second process doing other work (`python -m benchmarks.bench_parallel_members`). The members are
independent until their predictions are fused, so each trains in a process of its own with an equal share of
the threads. On a GPU they train in turn, in this process: one device, and the model is not the bottleneck.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..lm.config import BackboneConfig, SFTConfig
from ..rl.grpo_config import GRPOConfig

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class MemberChain:
    """What one member trains: SFT checkpoint `sft_name`, then GRPO checkpoint `grpo_name` warmed up on it."""
    member: int
    sft_name: str
    sft: SFTConfig
    grpo_name: str
    grpo: GRPOConfig
    backbone: BackboneConfig


@dataclass(frozen=True)
class ChainResult:
    """Which of the chain's checkpoints were kept from an earlier run (finished with the same settings)."""
    sft_kept: bool
    grpo_kept: bool


def side_by_side_workers(members: int, cores: int | None = None, on_gpu: bool | None = None) -> int:
    """How many member processes to run at once: every member, up to twice the cores; 1 (train in turn, in this
    process) with one member, one core or a GPU. Members that outnumber the cores share them (one thread each)
    rather than wait for a free one: in rounds, three members on two cores leave a core idle for the whole last
    round, a third of the time; sharing, they all end together.

    >>> side_by_side_workers(2, cores=2, on_gpu=False), side_by_side_workers(3, cores=2, on_gpu=False)
    (2, 3)
    >>> side_by_side_workers(8, cores=2, on_gpu=False), side_by_side_workers(2, cores=1, on_gpu=False)
    (4, 1)
    >>> side_by_side_workers(2, cores=16, on_gpu=True)
    1
    """
    if on_gpu is None:
        import torch

        on_gpu = torch.cuda.is_available()
    cores = cores or os.cpu_count() or 1
    return 1 if on_gpu or cores < 2 else max(1, min(members, 2 * cores))


def train_chain(workspace, chain: MemberChain, codebook: str, progress: Progress) -> ChainResult:
    """Train (or keep) one member's SFT and then its GRPO checkpoint, as the pipeline's own stages would."""
    from ..lm.sft import train_sft
    from ..rl.grpo import train_grpo
    from .pipeline import grpo_finished, sft_finished

    sft_kept = sft_finished(workspace, chain.sft_name, chain.sft, chain.backbone, codebook)
    if sft_kept:
        progress(0.5, f"kept {chain.sft_name}: finished with these settings on these samples")
    else:
        train_sft(workspace, chain.sft_name, chain.backbone, chain.sft, codebook,
                  on_progress=lambda fraction, message: progress(fraction / 2, f"sft: {message}"))
    grpo_kept = sft_kept and grpo_finished(workspace, chain.grpo_name, chain.grpo, chain.backbone, chain.sft_name,
                                           codebook)
    if grpo_kept:
        progress(1.0, f"kept {chain.grpo_name}: finished with these settings on these samples")
    else:
        train_grpo(workspace, chain.grpo_name, chain.sft_name, chain.grpo,
                   on_progress=lambda fraction, message: progress(0.5 + fraction / 2, f"grpo: {message}"))
    return ChainResult(sft_kept, grpo_kept)


class MemberFailed(RuntimeError):
    """A member's process failed with an error that is not a ConrecError (its traceback is the message)."""


def _worker(workspace: str, chain: MemberChain, codebook: str, threads: int, messages) -> None:
    """One member's process: its progress, then its result or its error, go to the parent through `messages`."""
    import traceback

    import torch

    from ..errors import ConrecError

    torch.set_num_threads(threads)
    try:
        result = train_chain(Path(workspace), chain, codebook,
                             lambda fraction, message: messages.put(("progress", chain.member, fraction, message)))
        messages.put(("done", chain.member, result))
    except ConrecError as error:
        messages.put(("conrec_error", chain.member, str(error)))
    except BaseException:
        messages.put(("failed", chain.member, traceback.format_exc()))


def train_members(workspace, chains: list[MemberChain], codebook: str, workers: int,
                  on_progress: Progress | None = None, threads: int | None = None) -> list[ChainResult]:
    """Every chain trained, `workers` at a time (1: in turn, in this process), each process with `threads` torch
    threads (default: an equal share of the cores); results in the chains' order. The first error in any member
    stops the others and is raised here."""
    from ..errors import ConrecError

    progress = on_progress or (lambda fraction, message: None)
    fractions = [0.0] * len(chains)
    index_of = {chain.member: index for index, chain in enumerate(chains)}

    def report(index: int, fraction: float, message: str) -> None:
        fractions[index] = fraction
        progress(sum(fractions) / len(chains), f"member {chains[index].member}: {message}")

    if workers <= 1:
        return [train_chain(workspace, chain, codebook, lambda f, m, i=index: report(i, f, m))
                for index, chain in enumerate(chains)]
    context = multiprocessing.get_context("spawn")  # fork would copy this process's torch threads and locks
    messages = context.Queue()
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    waiting, running = list(chains), {}
    results: dict[int, ChainResult] = {}
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                chain = waiting.pop(0)
                process = context.Process(target=_worker, args=(str(workspace), chain, codebook, threads, messages),
                                          name=f"conrec-member-{chain.member}", daemon=True)
                process.start()
                running[chain.member] = process
            try:
                kind, member, *payload = messages.get(timeout=1.0)
            except queue.Empty:
                stopped = [m for m, process in running.items() if process.exitcode is not None]
                if not stopped:
                    continue
                try:  # a process that put its result and ended just now: the result is still on its way
                    kind, member, *payload = messages.get(timeout=10.0)
                except queue.Empty:
                    raise MemberFailed(f"the process of member {stopped[0]} stopped (exit code "
                                       f"{running[stopped[0]].exitcode}) without a result: killed, or out of "
                                       "memory?") from None
            if kind == "progress":
                report(index_of[member], *payload)
            elif kind == "done":
                results[member] = payload[0]
                running.pop(member).join()
                report(index_of[member], 1.0, "done")
            elif kind == "conrec_error":
                raise ConrecError(f"member {member}: {payload[0]}")
            else:
                raise MemberFailed(f"member {member} failed:\n{payload[0]}")
    finally:
        for process in running.values():
            if process.is_alive():
                process.terminate()
            process.join()
    return [results[chain.member] for chain in chains]
