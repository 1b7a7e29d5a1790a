"""Identify mode's search at scale: 100,000 synthetic unit-length templates (128-d float32, as
the in-memory index holds them) searched for one probe by the app's own function (one matrix
product and the best two), on one core. Prints `identify_search_ms=...` (the median).

    .venv/bin/python scripts/bench_identify.py [--templates 100000]
"""

import argparse
import os

# One core, as the issue asks: set before numpy loads its BLAS.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from face_auth.business_val.identify.rules import search  # noqa: E402

DIMENSIONS = 128
REPEATS = 50


def synthetic_gallery(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gallery = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    return gallery


def search_ms(n: int = 100_000) -> float:
    """The median time, in milliseconds, of one search of ``n`` templates."""
    gallery = synthetic_gallery(n)
    rng = np.random.default_rng(1)
    probes = rng.standard_normal((REPEATS, DIMENSIONS)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    search(gallery, probes[0])  # warm-up
    times = []
    for probe in probes:
        started = time.perf_counter()
        search(gallery, probe)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--templates", type=int, default=100_000)
    args = parser.parse_args()
    print(f"identify_search_ms={search_ms(args.templates):.2f}")


if __name__ == "__main__":
    main()
