"""Independent pieces of the pipeline run side by side on a CPU, one process each, the cores shared between them.

The tiny models' training steps are mostly Python and small kernels, so a second core speeds one process up much
less than a second process doing other work (`python -m benchmarks.bench_parallel_members`, and
`benchmarks.bench_parallel_baselines` for the SASRec baselines). Each job is a module-level function that takes
its arguments and a progress callback, and returns something picklable; it runs in a spawned process with an
equal share of the torch threads. One worker runs the jobs in turn in this process (one core, or a GPU: one
device, and the model is not the bottleneck).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from dataclasses import dataclass
from typing import Any, Callable

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Job:
    """`function(*args, progress)` run under the label `label` (progress and errors are prefixed with it)."""
    label: str
    function: Callable[..., Any]
    args: tuple


class JobFailed(RuntimeError):
    """A job's process failed with an error that is not a ConrecError (its traceback is the message)."""


def available_cores() -> int:
    """The cores this process may use: those the system lets it run on (`taskset`, a container's cpuset), and no
    more than torch's threads where they were lowered (`OMP_NUM_THREADS`, or a job of `run_side_by_side`): a
    process told to use one thread does not start several."""
    import torch

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, torch.get_num_threads()))


def side_by_side_workers(jobs: int, cores: int | None = None, on_gpu: bool | None = None) -> int:
    """How many processes to run at once: every job, up to twice the cores (`available_cores`); 1 (in turn, in
    this process) with one job, one core or a GPU. Jobs that outnumber the cores share them (one thread each)
    rather than wait for a free one: in rounds, three jobs of equal length on two cores leave a core idle for the
    whole last round, a third of the time; sharing, they all end together.

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
    cores = cores or available_cores()
    return 1 if on_gpu or cores < 2 else max(1, min(jobs, 2 * cores))


def _worker(index: int, job: Job, threads: int, messages) -> None:
    """One job's process: its progress, then its result or its error, go to the parent through `messages`."""
    import traceback

    import torch

    from ..errors import ConrecError

    torch.set_num_threads(threads)
    try:
        result = job.function(*job.args, lambda fraction, message: messages.put(("progress", index, fraction,
                                                                                  message)))
        messages.put(("done", index, result))
    except ConrecError as error:
        messages.put(("conrec_error", index, str(error)))
    except BaseException:
        messages.put(("failed", index, traceback.format_exc()))


def run_side_by_side(jobs: list[Job], workers: int, on_progress: Progress | None = None,
                     threads: int | None = None) -> list:
    """Every job's result, in the jobs' order: `workers` processes at a time (1: in turn, in this process), each
    with `threads` torch threads (default: an equal share of the cores). Progress is the jobs' mean fraction. The
    first error in any job stops the others and is raised here, as a ConrecError where the job raised one."""
    from ..errors import ConrecError

    progress = on_progress or (lambda fraction, message: None)
    fractions = [0.0] * len(jobs)

    def report(index: int, fraction: float, message: str) -> None:
        fractions[index] = fraction
        progress(sum(fractions) / len(jobs), f"{jobs[index].label}: {message}")

    if workers <= 1:
        return [job.function(*job.args, lambda f, m, i=index: report(i, f, m)) for index, job in enumerate(jobs)]
    context = multiprocessing.get_context("spawn")  # fork would copy this process's torch threads and locks
    messages = context.Queue()
    threads = threads or max(1, available_cores() // workers)
    waiting, running = list(range(len(jobs))), {}
    results: dict[int, Any] = {}
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                index = waiting.pop(0)
                process = context.Process(target=_worker, args=(index, jobs[index], threads, messages),
                                          name=f"conrec-{jobs[index].label}".replace(" ", "-"), daemon=True)
                process.start()
                running[index] = process
            try:
                kind, index, *payload = messages.get(timeout=1.0)
            except queue.Empty:
                stopped = [i for i, process in running.items() if process.exitcode is not None]
                if not stopped:
                    continue
                try:  # a process that put its result and ended just now: the result is still on its way
                    kind, index, *payload = messages.get(timeout=10.0)
                except queue.Empty:
                    raise JobFailed(f"the process of {jobs[stopped[0]].label} stopped (exit code "
                                    f"{running[stopped[0]].exitcode}) without a result: killed, or out of "
                                    "memory?") from None
            if kind == "progress":
                report(index, *payload)
            elif kind == "done":
                results[index] = payload[0]
                running.pop(index).join()
                report(index, 1.0, "done")
            elif kind == "conrec_error":
                raise ConrecError(f"{jobs[index].label}: {payload[0]}")
            else:
                raise JobFailed(f"{jobs[index].label} failed:\n{payload[0]}")
    finally:
        for process in running.values():
            if process.is_alive():
                process.terminate()
            process.join()
    return [results[index] for index in range(len(jobs))]
