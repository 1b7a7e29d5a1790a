"""Per-frame checks and the per-request embedding: the functions the app calls."""

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from face_auth.face_pipeline.align import align_face
from face_auth.face_pipeline.config import FACE_SIZE, PipelineConfig
from face_auth.face_pipeline.decode import decode_image
from face_auth.face_pipeline.detect import detect_faces, detect_faces_batch, select_face
from face_auth.face_pipeline.embed import embed_faces, mean_embedding
from face_auth.face_pipeline.landmarks import FaceLandmarks, face_landmarks_batch
from face_auth.face_pipeline.liveness import FrameEvidence, face_crop, perceptual_hash
from face_auth.face_pipeline.models import FaceModels
from face_auth.face_pipeline.quality import check_exposure, check_pose, pose_ratios
from face_auth.face_pipeline.results import (
    EmbeddingResult,
    FaceDetection,
    FrameRejected,
    FrameResult,
)
from face_auth.face_pipeline.texture import backdrop, face_patch

Verdict = TypeVar("Verdict")


def analyse_rgb(
    models: FaceModels, rgb: np.ndarray, index: int, config: PipelineConfig
) -> tuple[FrameResult, np.ndarray | None]:
    """Detect, gate and align one decoded RGB frame; the crop is None when rejected."""
    result, crop, _ = _analyse(models, rgb, index, config)
    return result, crop


def _analyse(
    models: FaceModels, rgb: np.ndarray, index: int, config: PipelineConfig
) -> tuple[FrameResult, np.ndarray | None, FaceDetection | None]:
    """analyse_rgb, plus the selected face (also when a gate rejected the frame)."""
    return _gate(rgb, detect_faces(models.detector, rgb, config), index, config)


def _gate(
    rgb: np.ndarray, detections: list[FaceDetection], index: int, config: PipelineConfig
) -> tuple[FrameResult, np.ndarray | None, FaceDetection | None]:
    """Select, align and gate the face among a frame's detections."""
    faces = sum(face.confidence >= config.min_confidence for face in detections)
    face: FaceDetection | None = None
    try:
        face = select_face(detections, config)
        aligned = align_face(rgb, face, FACE_SIZE, config.crop_margin)
        check_exposure(aligned, config)
        check_pose(face, config)
    except FrameRejected as rejection:
        return FrameResult.reject(index, rejection.code, face, faces), None, face
    return FrameResult.accept(index, face, faces), aligned, face


def analyse_frame(
    models: FaceModels, data: bytes, index: int, config: PipelineConfig
) -> tuple[FrameResult, np.ndarray | None]:
    """Decode and analyse one uploaded frame; the aligned crop is None when rejected."""
    try:
        rgb = decode_image(data, config)
    except FrameRejected as rejection:
        return FrameResult.reject(index, rejection.code), None
    return analyse_rgb(models, rgb, index, config)


def _frontality(face: FaceDetection) -> float:
    """How far from frontal a face is (0 is frontal): the frames kept for the embedding are
    the most frontal ones."""
    yaw, pitch = pose_ratios(face)
    return abs(yaw) + abs(pitch - 0.6) / 2


def _frame_evidence(
    models: FaceModels, decoded: dict[int, np.ndarray], selected: dict[int, FaceDetection | None]
) -> dict[int, FrameEvidence]:
    """Each decoded frame's hashes and, where a face was selected, its landmarks (all the
    frames' faces in one landmark-model call) and texture patches."""
    landmarks: dict[int, FaceLandmarks] = {}
    if models.landmarker is not None:
        faces = {index: face for index, face in selected.items() if face is not None}
        pairs = [(decoded[index], face) for index, face in faces.items()]
        landmarks = dict(zip(faces, face_landmarks_batch(models.landmarker, pairs), strict=True))
    proofs = {}
    for index, rgb in decoded.items():
        marks = landmarks.get(index)
        face_hash = patch = scene = None
        if marks is not None:
            face_hash = perceptual_hash(face_crop(rgb, marks))
            patch, scene = face_patch(rgb, marks), backdrop(rgb, marks)
        # SHA-256 runs on the CPU's SHA extensions: half of BLAKE2b's time on a frame.
        digest = hashlib.sha256(np.ascontiguousarray(rgb).data).hexdigest()
        proofs[index] = FrameEvidence(
            index, perceptual_hash(rgb), marks, face_hash, digest, patch, scene
        )
    return proofs


@dataclass
class _Analysis:
    """A request's frames before FaceNet: each frame's result, the evidence for liveness,
    the aligned crops kept for the embedding, and the seconds spent so far."""

    frames: list[FrameResult]
    evidence: list[FrameEvidence]
    crops: list[np.ndarray]
    timings: dict[str, float]


def embed_frames(
    models: FaceModels,
    frames: Sequence[bytes],
    config: PipelineConfig,
    *,
    keep: int | None = None,
    evidence: bool = False,
) -> EmbeddingResult:
    """Mean embedding of the accepted frames of a request, embedded in one model call.

    With ``keep``, only the ``keep`` most frontal accepted frames are embedded (a liveness
    challenge sends more frames, some turned). With ``evidence``, the result also holds each
    frame's perceptual hash and, where a face was found, its 468 landmarks (for liveness).
    ``timings`` holds the seconds spent decoding, detecting (with gates and alignment),
    finding landmarks and embedding."""
    return _embed(models, _analyse_frames(models, frames, config, keep, evidence))


def embed_and_judge(
    models: FaceModels,
    frames: Sequence[bytes],
    config: PipelineConfig,
    judge: Callable[[list[FrameEvidence]], Verdict],
    *,
    keep: int | None = None,
) -> tuple[EmbeddingResult, Verdict]:
    """``embed_frames`` with evidence, and ``judge(evidence)`` (the liveness checks) run on
    this thread while FaceNet embeds the kept faces on another: ONNX Runtime releases the
    GIL, and the checks take about as long as FaceNet, so the request waits for the longer
    one only (12 frames: 89 instead of 123 ms for both, docs/performance.md). When ``judge``
    raises, FaceNet's run is waited for and the error goes on."""
    analysis = _analyse_frames(models, frames, config, keep, evidence=True)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="facenet") as pool:
        embedded = pool.submit(_embed, models, analysis)
        verdict = judge(analysis.evidence)
    return embedded.result(), verdict


def _analyse_frames(
    models: FaceModels,
    frames: Sequence[bytes],
    config: PipelineConfig,
    keep: int | None,
    evidence: bool,
) -> _Analysis:
    """Decode, detect, gate and align every frame (and find its evidence); keep the ``keep``
    most frontal accepted crops."""
    results: dict[int, FrameResult] = {}
    candidates: list[tuple[float, int, np.ndarray]] = []
    proofs: dict[int, FrameEvidence] = {}
    timings = {"decode": 0.0, "detect": 0.0, "landmarks": 0.0, "embed": 0.0}
    decoded: dict[int, np.ndarray] = {}
    started = time.perf_counter()
    for index, data in enumerate(frames):
        try:
            decoded[index] = decode_image(data, config)
        except FrameRejected as rejection:
            results[index] = FrameResult.reject(index, rejection.code)
            if evidence:
                proofs[index] = FrameEvidence(index, None)
    timings["decode"] = time.perf_counter() - started
    started = time.perf_counter()
    # One mtcnn call for all the frames (detect_faces_batch): the same faces as frame by frame.
    detections = detect_faces_batch(models.detector, list(decoded.values()), config)
    selected: dict[int, FaceDetection | None] = {}
    for (index, rgb), found in zip(decoded.items(), detections, strict=True):
        results[index], crop, selected[index] = _gate(rgb, found, index, config)
        face = selected[index]
        if crop is not None and face is not None:
            candidates.append((_frontality(face), index, crop))
    timings["detect"] = time.perf_counter() - started
    if evidence:
        started = time.perf_counter()
        proofs.update(_frame_evidence(models, decoded, selected))
        timings["landmarks"] = time.perf_counter() - started
    if keep is not None and len(candidates) > keep:
        chosen = sorted(candidates, key=lambda item: item[0])[:keep]
        candidates = sorted(chosen, key=lambda item: item[1])
    return _Analysis(
        frames=[results[index] for index in sorted(results)],
        evidence=[proofs[index] for index in sorted(proofs)],
        crops=[crop for _, _, crop in candidates],
        timings=timings,
    )


def _embed(models: FaceModels, analysis: _Analysis) -> EmbeddingResult:
    """FaceNet on the kept crops, in one call, and their mean."""
    timings = dict(analysis.timings)
    if not analysis.crops:
        return EmbeddingResult(
            embedding=None, frames=analysis.frames, used=0, timings=timings,
            evidence=analysis.evidence,
        )  # fmt: skip
    started = time.perf_counter()
    embeddings = embed_faces(models.embedder, np.stack(analysis.crops))
    timings["embed"] = time.perf_counter() - started
    return EmbeddingResult(
        embedding=mean_embedding(embeddings),
        frames=analysis.frames,
        used=len(analysis.crops),
        embeddings=embeddings,
        timings=timings,
        evidence=analysis.evidence,
    )
