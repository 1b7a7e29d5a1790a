"""CLI commands that run the face pipeline: the same functions the server uses, no HTTP."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from face_auth.business_val.face.match import match
from face_auth.config import Settings
from face_auth.face_pipeline import (
    FaceModels,
    PipelineConfig,
    embed_frames,
    load_models,
)
from face_auth.model_store import ModelsMissingError
from face_auth.wiring import identify_policy, pipeline_config


def load_pipeline(settings: Settings) -> tuple[FaceModels, PipelineConfig]:
    """The models, and the pipeline configuration the app builds from ``settings``, with the
    byte limit for photos on disk instead of the one for uploaded frames."""
    models = load_models(
        settings.models_dir.resolve(),
        engine=settings.face_embedder,
        intra_op_threads=settings.tf_intra_op_threads or None,
        int8=settings.face_embedder_int8,
        landmark_runtime=settings.face_landmark_runtime,
        detector_runtime=settings.face_detector_runtime,
    )
    config = pipeline_config(settings)
    return models, replace(config, max_bytes=settings.face_max_photo_bytes)


def _embed_file(
    path: Path, models: FaceModels, config: PipelineConfig
) -> tuple[dict[str, object], np.ndarray | None]:
    try:
        data = path.read_bytes()
    except OSError as error:
        return {"file": str(path), "faces": 0, "error": f"cannot read: {error.strerror}"}, None
    result = embed_frames(models, [data], config)
    frame = result.frames[0]
    line: dict[str, object] = {"file": str(path), "faces": frame.faces}
    if result.embedding is None:
        line["error"] = frame.reason
        return line, None
    line["embedding"] = [round(float(value), 6) for value in result.embedding]
    return line, result.embedding


def embed_images(paths: list[Path], settings: Settings) -> int:
    try:
        models, config = load_pipeline(settings)
    except ModelsMissingError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    failures = 0
    for path in paths:
        line, embedding = _embed_file(path, models, config)
        failures += embedding is None
        print(json.dumps(line))
    return 1 if failures else 0


def compare_images(first: Path, second: Path, settings: Settings) -> int:
    try:
        models, config = load_pipeline(settings)
    except ModelsMissingError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    (line_a, a), (line_b, b) = (
        _embed_file(first, models, config),
        _embed_file(second, models, config),
    )
    if a is None or b is None:
        errors = {line["file"]: line["error"] for line in (line_a, line_b) if "error" in line}
        print(json.dumps({"error": "no usable face", "files": errors}))
        return 1
    outcome = match(a, b, settings.face_match_threshold)
    print(json.dumps({"similarity": round(outcome.similarity, 4), "threshold": outcome.threshold,
                      "same_person": outcome.accepted}))  # fmt: skip
    return 0


# Web photos (like the 5-celebrity set) have small, often turned faces: with these gates the
# evaluation measures the recogniser rather than the webcam quality gates.
RELAXED_GATES = {"min_face_px": 24, "detector_min_face_px": 20, "min_sharpness": 0.0,
                 "max_yaw_ratio": 1.0, "min_pitch_ratio": 0.0, "max_pitch_ratio": 2.0}  # fmt: skip


def evaluate_folder(folder: Path, roc_path: Path, relaxed: bool, settings: Settings) -> int:
    if not folder.is_dir():
        print(json.dumps({"error": f"{folder} is not a folder"}))
        return 2
    from face_auth_tools.evaluation import evaluate_dataset  # noqa: PLC0415 - offline tool

    models, config = load_pipeline(settings)
    if relaxed:
        config = replace(config, **RELAXED_GATES)
    report = evaluate_dataset(folder, models, config, settings.face_match_threshold, roc_path)
    report["gates"] = "relaxed" if relaxed else "production"
    print(json.dumps(report, indent=2))
    return 0


def evaluate_identify(dataset: Path, relaxed: bool, settings: Settings) -> int:
    """Open-set identification at the configured identify threshold and margin."""
    if not dataset.is_dir():
        print(json.dumps({"error": f"{dataset} is not a folder"}))
        return 2
    from face_auth_tools.identification import evaluate_identification  # noqa: PLC0415

    models, config = load_pipeline(settings)
    if relaxed:
        config = replace(config, **RELAXED_GATES)
    try:
        report = evaluate_identification(dataset, models, config, identify_policy(settings))
    except ValueError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    report["gates"] = "relaxed" if relaxed else "production"
    print(json.dumps(report, indent=2))
    return 0
