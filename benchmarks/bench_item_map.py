"""The item map's cost inside the codebook stage: UMAP's first fit in a process (numba compiling its kernels)
against a second fit in the same process, and the default number of optimisation epochs against fewer.

    python -m benchmarks.bench_item_map [--workspace WS] [--codebook default] [--epochs 200]

Each variant runs in a fresh process, as the pipeline's codebook stage does, on the stored SID vectors of the
codebook (the same shape as the latents the stage maps). Prints each variant's seconds for the import, the first
fit and a second fit, the ratios to the default, and how well each map keeps the 10 nearest neighbours of the
vectors (scikit-learn's trustworthiness, 1 = every map neighbour is a neighbour in the vectors).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
start = time.perf_counter()
import umap
from sklearn.manifold import trustworthiness
imported = time.perf_counter()
from conrec_core.semantic_ids.item_map import map_coordinates
from conrec_core.semantic_ids.store import load_codebook
vectors = load_codebook(sys.argv[1], sys.argv[2]).vectors
epochs = None if sys.argv[3] == "default" else int(sys.argv[3])
times = []
for _ in range(2):
    began = time.perf_counter()
    xy = map_coordinates(vectors, seed=0, epochs=epochs)
    times.append(time.perf_counter() - began)
score = trustworthiness(vectors, xy, n_neighbors=10, metric="cosine")
print(json.dumps({"import": imported - start, "first": times[0], "second": times[1], "trust": float(score),
                  "items": len(vectors)}))
"""


def measure(workspace: str, codebook: str, epochs: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, workspace, codebook, epochs], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", default=None, help="default: the synthetic sample's workspace")
    parser.add_argument("--codebook", default="default")
    parser.add_argument("--epochs", default="200", help="the fewer epochs to compare with UMAP's default")
    args = parser.parse_args()
    workspace = args.workspace
    if workspace is None:
        from conrec_core.shipped.sample_data import sample_workspace
        workspace = str(sample_workspace("synthetic-shop"))
    rows = {"default": measure(workspace, args.codebook, "default"),
            args.epochs: measure(workspace, args.codebook, args.epochs)}
    base = rows["default"]
    print(f"{base['items']:,} items, codebook {args.codebook!r}")
    print(f"{'epochs':>8} {'import s':>9} {'1st fit s':>10} {'2nd fit s':>10} {'1st / default':>14} "
          f"{'trustworthiness':>16}")
    for epochs, row in rows.items():
        print(f"{epochs:>8} {row['import']:9.1f} {row['first']:10.1f} {row['second']:10.1f} "
              f"{row['first'] / base['first']:14.2f} {row['trust']:16.3f}")
    print(f"compiling on the first fit: {base['first'] - base['second']:.1f} s of the default's {base['first']:.1f} s")


if __name__ == "__main__":
    main()
