"""The status of a workspace's background job of one kind, polled once a second without rerunning the page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from conrec_core.jobs.registry import JobRegistry, time_estimate
from app.plain import as_text

SEEN_KEY = "job_status_seen"


@st.fragment(run_every=1.0)
def job_panel(workspace: Path, kind: str, title: str) -> None:
    registry = JobRegistry(workspace)
    job = registry.latest(kind)
    if job is None:  # nothing started from the app: the page itself says what the workspace holds
        return
    job = registry.enforce_cancel(job.id)
    seen = st.session_state.setdefault(SEEN_KEY, {})
    was_active = seen.get(job.id, "done") in ("queued", "running", "cancelling")
    seen[job.id] = job.status
    if job.active:
        label = "Stopping…" if job.status == "cancelling" else f"{title}: {job.message or job.status}"
        timing = time_estimate(job)
        if timing is not None and job.status == "running":
            elapsed, left = timing
            label += f" · {_duration(elapsed)} so far" + ("" if left is None else f", about {_duration(left)} left")
        st.progress(job.progress, text=label)
        st.button("Cancel", key=f"cancel-{job.id}", disabled=job.status == "cancelling",
                  on_click=registry.cancel, args=(job.id,))
        return
    if job.status == "failed":
        st.error(f"The last {title} failed: {as_text(job.error)}")
        log = registry.log_path(job.id)
        if log.is_file() and log.stat().st_size:
            with st.expander("Job log"):
                st.code(log.read_text()[-5000:])
    elif job.status == "cancelled":
        st.warning(f"The last {title} was cancelled.")
    else:
        st.success(f"The last {title} finished at {job.finished_at} (UTC).")
    if was_active:
        st.rerun(scope="app")  # the job just ended: redraw the whole page with its results


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
