"""How the user inspector's reads grow with the number of users: one user's view, and the user list the page
filters on every rerun, on generated workspaces of growing size.

    python -m benchmarks.bench_inspector [--users 2000 20000]

Each workspace gets random stored predictions (20 per test sample) so the view has something to join; the
figures are server-side seconds per call, median of 5, and the ratio largest / smallest size. A flat ratio
means a rerun costs the same however many users the log has.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks.bench_workspace import MAPPING, generate
from benchmarks.timing import timed



def build(folder: Path, users: int) -> Path:
    from conrec_core.data.importer import import_source
    from conrec_core.data.workspace import open_workspace

    generate(folder / "log.parquet", events=users * 60, users=users, items=users * 2)
    (folder / "mapping.json").write_text(json.dumps(MAPPING))
    workspace = folder / "ws.duckdb"
    import_source(folder / "log.parquet", workspace, mapping=folder / "mapping.json")
    with open_workspace(workspace, read_only=False) as con:
        con.execute("""
            INSERT INTO predictions (checkpoint, sample_id, user_id, anchor_ts, rank, sid, item_id, score, created_at)
            SELECT 'bench', s.sample_id, s.user_id, s.anchor_ts, r.rank, '', 'i' || CAST(floor(random() * ?) AS BIGINT),
                   -r.rank, now()
            FROM samples s, (SELECT range + 1 AS rank FROM range(20)) r WHERE s.split = 'test'""", [users * 2])
    return workspace


def measure(workspace: Path) -> dict:
    from conrec_core.views.user import predicted_users, user_view

    pairs = predicted_users(workspace)
    users = sorted(pairs["user_id"])
    busiest = pairs["user_id"].value_counts().index[0]
    ranked = users[: len(users) // 2]

    def user_list():  # what the page does with the candidates of "best / worst FHR" on every rerun
        known = set(users)
        return [u for u in ranked if u in known]

    return {"users with predictions": len(users),
            "user view": timed(lambda: user_view(workspace, busiest, "bench")),
            "user list": timed(user_list)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    rows = {}
    for users in args.users:
        with tempfile.TemporaryDirectory() as tmp:
            rows[users] = measure(build(Path(tmp), users))
    small, large = rows[min(rows)], rows[max(rows)]
    print("User inspector reads, seconds per call (median of 5)")
    print(f"{'users in the log':<22}" + "".join(f"{u:>12,}" for u in rows) + f"{'ratio':>10}")
    for key in ("users with predictions", "user view", "user list"):
        cells = "".join(f"{r[key]:>12,}" if isinstance(r[key], int) else f"{r[key]:>12.4f}" for r in rows.values())
        print(f"{key:<22}{cells}{large[key] / max(small[key], 1e-9):>10.2f}")


if __name__ == "__main__":
    main()
