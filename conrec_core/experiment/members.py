"""A seed's SID members trained side by side: one process per member (its SFT, then GRPO on it), the CPU cores
shared between them (experiment/side_by_side.py). The members are independent until their predictions are fused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lm.config import BackboneConfig, SFTConfig
from ..rl.grpo_config import GRPOConfig
from . import resume
from .side_by_side import Job, Progress, run_side_by_side



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


def train_chain(workspace, chain: MemberChain, codebook: str, progress: Progress) -> ChainResult:
    """Train (or keep) one member's SFT and then its GRPO checkpoint, as the pipeline's own stages would."""
    from ..training.sft import train_sft
    from ..rl.grpo import train_grpo

    sft_kept = resume.sft_kept(workspace, chain.sft_name, chain.sft, chain.backbone, codebook)
    if sft_kept:
        progress(0.5, f"kept {chain.sft_name}: finished with these settings on these samples")
    else:
        train_sft(workspace, chain.sft_name, chain.backbone, chain.sft, codebook,
                  on_progress=lambda fraction, message: progress(fraction / 2, f"sft: {message}"))
    grpo_kept = sft_kept and resume.grpo_kept(workspace, chain.grpo_name, chain.grpo, chain.backbone,
                                              chain.sft_name, codebook)
    if grpo_kept:
        progress(1.0, f"kept {chain.grpo_name}: finished with these settings on these samples")
    else:
        train_grpo(workspace, chain.grpo_name, chain.sft_name, chain.grpo,
                   on_progress=lambda fraction, message: progress(0.5 + fraction / 2, f"grpo: {message}"))
    return ChainResult(sft_kept, grpo_kept)


def train_members(workspace, chains: list[MemberChain], codebook: str, workers: int,
                  on_progress: Progress | None = None, threads: int | None = None) -> list[ChainResult]:
    """Every chain trained, `workers` at a time (1: in turn, in this process), each process with `threads` torch
    threads (default: an equal share of the cores); results in the chains' order. The first error in any member
    stops the others and is raised here."""
    jobs = [Job(f"member {chain.member}", train_chain, (workspace, chain, codebook)) for chain in chains]
    return run_side_by_side(jobs, workers, on_progress, threads)


def member_chains(spec, names) -> list[MemberChain]:
    """Each member's SFT then GRPO run, seeded as `spec` (an ExperimentSpec) seeds that member; `names` is the
    seed's MethodNames."""
    return [MemberChain(member, sft_name, spec.member_sft(member), grpo_name, spec.member_grpo(member),
                        spec.member_backbone(member))
            for member, (sft_name, grpo_name) in enumerate(zip(names.sft_members, names.grpo_members))]
