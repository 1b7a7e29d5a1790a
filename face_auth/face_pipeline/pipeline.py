"""Per-frame checks and the per-request embedding: the functions the app calls."""

import time
from collections.abc import Sequence

import numpy as np

from face_auth.face_pipeline.align import align_face
from face_auth.face_pipeline.config import FACE_SIZE, PipelineConfig
from face_auth.face_pipeline.decode import decode_image
from face_auth.face_pipeline.detect import detect_faces, select_face
from face_auth.face_pipeline.embed import embed_faces, mean_embedding
from face_auth.face_pipeline.models import FaceModels
from face_auth.face_pipeline.quality import check_exposure, check_pose
from face_auth.face_pipeline.results import (
    EmbeddingResult,
    FaceDetection,
    FrameRejected,
    FrameResult,
)


def analyse_rgb(
    models: FaceModels, rgb: np.ndarray, index: int, config: PipelineConfig
) -> tuple[FrameResult, np.ndarray | None]:
    """Detect, gate and align one decoded RGB frame; the crop is None when rejected."""
    detections = detect_faces(models.detector, rgb, config)
    faces = sum(face.confidence >= config.min_confidence for face in detections)
    face: FaceDetection | None = None
    try:
        face = select_face(detections, config)
        aligned = align_face(rgb, face, FACE_SIZE, config.crop_margin)
        check_exposure(aligned, config)
        check_pose(face, config)
    except FrameRejected as rejection:
        return FrameResult.reject(index, rejection.code, face, faces), None
    return FrameResult.accept(index, face, faces), aligned


def analyse_frame(
    models: FaceModels, data: bytes, index: int, config: PipelineConfig
) -> tuple[FrameResult, np.ndarray | None]:
    """Decode and analyse one uploaded frame; the aligned crop is None when rejected."""
    try:
        rgb = decode_image(data, config)
    except FrameRejected as rejection:
        return FrameResult.reject(index, rejection.code), None
    return analyse_rgb(models, rgb, index, config)


def embed_frames(
    models: FaceModels, frames: Sequence[bytes], config: PipelineConfig
) -> EmbeddingResult:
    """Mean embedding of every accepted frame of a request, embedded in one model call.
    `timings` holds the seconds spent decoding, detecting (with gates and alignment), embedding."""
    results: list[FrameResult] = []
    crops: list[np.ndarray] = []
    timings = {"decode": 0.0, "detect": 0.0, "embed": 0.0}
    for index, data in enumerate(frames):
        started = time.perf_counter()
        try:
            rgb = decode_image(data, config)
        except FrameRejected as rejection:
            results.append(FrameResult.reject(index, rejection.code))
            continue
        finally:
            timings["decode"] += time.perf_counter() - started
        started = time.perf_counter()
        result, crop = analyse_rgb(models, rgb, index, config)
        timings["detect"] += time.perf_counter() - started
        results.append(result)
        if crop is not None:
            crops.append(crop)
    if not crops:
        return EmbeddingResult(embedding=None, frames=results, used=0, timings=timings)
    started = time.perf_counter()
    embeddings = embed_faces(models.embedder, np.stack(crops))
    timings["embed"] = time.perf_counter() - started
    return EmbeddingResult(
        embedding=mean_embedding(embeddings),
        frames=results,
        used=len(crops),
        embeddings=embeddings,
        timings=timings,
    )
