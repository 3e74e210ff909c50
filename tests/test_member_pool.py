"""Members trained side by side, one process each: the same weights as in turn, progress from both, errors raised."""

import doctest
import multiprocessing
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO, writable_copy
from conrec_core.errors import ConrecError
from conrec_core.experiment import side_by_side
from conrec_core.experiment.resume import sft_kept
from conrec_core.experiment.members import ChainResult, MemberChain, train_members
from conrec_core.lm.checkpoints import checkpoint_dir, read_training
from conrec_core.lm.config import BackboneConfig, SFTConfig
from conrec_core.rl.grpo_config import GRPOConfig


def chains(sft_steps: int = 20, second_backbone: str = "tiny") -> list[MemberChain]:
    sft = SFTConfig(steps=sft_steps, eval_every=sft_steps, checkpoint_every=sft_steps, eval_examples=8,
                    ranking_samples=8)
    grpo = GRPOConfig(stages=("negatives",), betas=(0.04,), steps_per_stage=1, prompts_per_step=2, group_size=4,
                      eval_every=1, eval_samples=4)
    return [MemberChain(member, f"sft-m{member}", replace(sft, seed=member), f"grpo-m{member}",
                        replace(grpo, seed=member), BackboneConfig(name=name, seed=member))
            for member, name in enumerate(["tiny", second_backbone])]


def test_the_worker_count_doctests_pass():
    results = doctest.testmod(side_by_side)
    assert results.attempted and results.failed == 0


def test_a_process_given_one_core_or_one_thread_runs_its_jobs_in_turn():
    """Two jobs on this machine's cores go side by side where it has two; one core allowed (taskset, a
    container's cpuset) or one torch thread asked for (OMP_NUM_THREADS) and they run in turn, in the process."""
    probe = ("import os, sys; from conrec_core.experiment.side_by_side import side_by_side_workers as w; "
             "sys.argv[1:] and os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
             "print(w(2, on_gpu=False))")

    def workers(*args, **env):
        done = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True,
                              check=True, env={**os.environ, **env})
        return int(done.stdout)

    cores = len(os.sched_getaffinity(0))
    assert workers(OMP_NUM_THREADS=str(cores)) == (2 if cores > 1 else 1)
    assert workers(OMP_NUM_THREADS="1") == 1
    assert workers("one-core", OMP_NUM_THREADS=str(cores)) == 1


def test_members_side_by_side_train_the_weights_they_train_in_turn(lm_world, tmp_path):
    in_turn = writable_copy(lm_world, tmp_path / "in-turn")
    side_by_side = writable_copy(lm_world, tmp_path / "side-by-side")
    members = chains()
    assert train_members(in_turn, members, "default", workers=1) == [ChainResult(False, False)] * 2
    reports = []
    results = train_members(side_by_side, members, "default", workers=2, threads=torch.get_num_threads(),
                            on_progress=lambda fraction, message: reports.append((fraction, message)))
    assert results == [ChainResult(False, False)] * 2
    for name in ("sft-m0", "sft-m1", "grpo-m0", "grpo-m1"):
        expected = load_file(checkpoint_dir(in_turn, name) / "model.safetensors")
        got = load_file(checkpoint_dir(side_by_side, name) / "model.safetensors")
        assert expected.keys() == got.keys()
        assert all(torch.equal(expected[key], got[key]) for key in expected), name
    assert read_training(checkpoint_dir(side_by_side, "grpo-m1"))["warmup"] == "sft-m1"
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {message.split(":")[0] for _, message in reports} == {"member 0", "member 1"}
    # a second run finds both chains finished with these settings and keeps them
    assert train_members(side_by_side, members, "default", workers=2) == [ChainResult(True, True)] * 2


def test_a_failing_member_stops_the_other_and_its_error_is_raised(lm_world, tmp_path):
    workspace = writable_copy(lm_world, tmp_path / "ws")
    members = chains(sft_steps=5000, second_backbone=str(tmp_path / "no-such-model"))
    with pytest.raises(ConrecError, match="member 1: backbone .* is neither 'tiny'"):
        train_members(workspace, members, "default", workers=2)
    assert not multiprocessing.active_children()  # member 0's long SFT was stopped, not left running
    assert not sft_kept(workspace, "sft-m0", members[0].sft, members[0].backbone, "default")


def test_a_cancel_raised_from_the_progress_callback_stops_every_member(lm_world, tmp_path):
    """The app's jobs cancel by raising from their progress callback: no member process may outlive that."""
    workspace = writable_copy(lm_world, tmp_path / "ws")

    class Cancelled(Exception):
        pass

    def cancel(fraction: float, message: str) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        train_members(workspace, chains(sft_steps=5000), "default", workers=2, on_progress=cancel)
    assert not multiprocessing.active_children()
