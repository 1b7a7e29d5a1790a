"""Dense face landmarks: MediaPipe's face-landmark model (468 3D points) on an MTCNN face.

The model (``face_landmark.tflite``, provisioned by ``face_auth.model_store``) takes a
192x192 RGB crop scaled to [0, 1]: a square about 1.5x the face box, rotated so the eyes are
level (as MediaPipe's own graph crops it). It returns 468 (x, y, z) points in crop pixels, z
being depth relative to the face centre on the same scale (smaller is nearer the camera), and
a face-presence logit. ``face_landmarks`` maps the points back to image pixels.

The app runs the pinned file itself on LiteRT (``ai_edge_litert``, TensorFlow Lite's runtime
without TensorFlow; ``TfliteLandmarkModel`` with ``runtime="litert"``): XNNPACK takes a
request's 12 crops in ~15 ms of CPU on one thread (~9 ms wall on two), where the ONNX Runtime
conversion took ~50 ms of CPU in calls of 6 (docs/performance.md). That conversion
(``OnnxLandmarkModel``, made at install time with tf2onnx's TFLite path and kept only if its
points agree with TFLite's, face_pipeline/onnx_conversion.py) serves with
``FACE_AUTH_FACE_LANDMARK_RUNTIME=onnx`` where LiteRT has no wheel. TensorFlow's
``tf.lite.Interpreter`` stays the reference for the install check, the parity tests and the
"tensorflow" engine. One interpreter or session is not thread-safe to feed, so calls are
serialised by a lock.
"""

import math
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from face_auth.face_pipeline.align import alignment_matrix
from face_auth.face_pipeline.onnx_session import open_session
from face_auth.face_pipeline.results import FaceDetection

LANDMARK_INPUT = 192
LANDMARK_COUNT = 468
# Crops per call of the ONNX model: 12 crops took 41 ms in one call (peak RSS +69 MB) and
# 35 ms in calls of 6 (+25 MB); one at a time, 54 ms (docs/performance.md).
LANDMARK_BATCH = 6
# The crop is this many times the face box's longer side (margin on each side: (1.5 - 1) / 2).
CROP_SCALE = 1.5

# Mesh indices used by the pose and flatness measures (MediaPipe's canonical face mesh).
NOSE_TIP = 1
FOREHEAD = 10
CHIN = 152
RIGHT_CHEEK = 234  # the person's right: the left of the image for a frontal face
LEFT_CHEEK = 454
RIGHT_EYE_OUTER = 33
LEFT_EYE_OUTER = 263


class LandmarkModel(Protocol):
    """(N, 192, 192, 3) float32 crops in [0, 1] in; (N, 468, 3) points in crop pixels and the
    (N,) face-presence probabilities out."""

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def _presence(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(logits, dtype=np.float64), -50.0, 50.0)))


def _batch(crops: np.ndarray) -> np.ndarray:
    return np.asarray(crops, dtype=np.float32).reshape(-1, LANDMARK_INPUT, LANDMARK_INPUT, 3)


class TfliteLandmarkModel:
    """The pinned .tflite file in a TFLite interpreter, one crop a call: LiteRT's
    (``ai_edge_litert``, what the app runs: no TensorFlow, XNNPACK, ~1.2 ms a crop on one
    core) or TensorFlow's ``tf.lite`` (the reference, for the install check and the
    "tensorflow" engine)."""

    def __init__(self, model_path: Path, threads: int = 1, runtime: str = "tensorflow") -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
            self._interpreter = _interpreter_class(runtime)(
                model_path=str(model_path), num_threads=threads
            )
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {
            tuple(d["shape"])[-1]: d["index"] for d in self._interpreter.get_output_details()
        }
        self._points = outputs[LANDMARK_COUNT * 3]
        self._presence = outputs[1]
        self._lock = threading.Lock()
        self.model_path = Path(model_path)
        self.runtime = runtime

    def raw(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 468, 3) points and the (N,) face-presence logits."""
        points, logits = [], []
        with self._lock:
            for crop in _batch(crops):
                self._interpreter.set_tensor(self._input, crop[None])
                self._interpreter.invoke()
                found = self._interpreter.get_tensor(self._points)
                points.append(found.reshape(LANDMARK_COUNT, 3).copy())
                logits.append(float(self._interpreter.get_tensor(self._presence).ravel()[0]))
        return np.stack(points), np.asarray(logits, dtype=np.float32)

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points, logits = self.raw(crops)
        return points, _presence(logits)


def _interpreter_class(runtime: str) -> Any:
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

        return Interpreter
    import tensorflow as tf  # noqa: PLC0415 - only for the reference engine

    return tf.lite.Interpreter


class OnnxLandmarkModel:
    """The converted model in an ONNX Runtime session (what the app runs): all of a
    request's crops in one call (its batch dimension is added at install)."""

    def __init__(self, model_path: Path, threads: int | None = 1) -> None:
        self._session = open_session(model_path, threads, "face-landmark model")
        self._input = self._session.get_inputs()[0].name
        sizes = {output.shape[-1]: output.name for output in self._session.get_outputs()}
        self._outputs = [sizes[LANDMARK_COUNT * 3], sizes[1]]
        self._lock = threading.Lock()
        self.model_path = Path(model_path)

    def raw(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = _batch(crops)
        points, logits = [], []
        with self._lock:
            for start in range(0, len(batch), LANDMARK_BATCH):
                found, logit = self._session.run(
                    self._outputs, {self._input: batch[start : start + LANDMARK_BATCH]}
                )
                points.append(found.reshape(-1, LANDMARK_COUNT, 3))
                logits.append(logit.reshape(-1))
        return np.concatenate(points), np.concatenate(logits)

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points, logits = self.raw(crops)
        return points, _presence(logits)


@dataclass(frozen=True)
class FaceLandmarks:
    """468 points in image pixels: x, y, and z (depth, same scale as x; smaller is nearer)."""

    points: np.ndarray
    presence: float

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]


def landmark_crop(rgb: np.ndarray, face: FaceDetection) -> tuple[np.ndarray, np.ndarray]:
    """The model's input for ``face`` and the 2x3 affine map from image to crop pixels."""
    margin = (CROP_SCALE - 1.0) / 2.0
    matrix = alignment_matrix(face, LANDMARK_INPUT, margin)
    crop = cv2.warpAffine(
        np.ascontiguousarray(rgb),
        matrix,
        (LANDMARK_INPUT, LANDMARK_INPUT),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    return crop.astype(np.float32) / 255.0, matrix


def face_landmarks(model: LandmarkModel, rgb: np.ndarray, face: FaceDetection) -> FaceLandmarks:
    """The 468 landmarks of ``face`` in ``rgb``'s pixel coordinates."""
    return face_landmarks_batch(model, [(rgb, face)])[0]


def face_landmarks_batch(
    model: LandmarkModel, faces: Sequence[tuple[np.ndarray, FaceDetection]]
) -> list[FaceLandmarks]:
    """``face_landmarks`` for several (image, face) pairs, in one model call."""
    if not faces:
        return []
    crops, matrices = zip(*(landmark_crop(rgb, face) for rgb, face in faces), strict=True)
    points, presence = model(np.stack(crops))
    return [
        _in_image(found, float(probability), matrix)
        for found, probability, matrix in zip(points, presence, matrices, strict=True)
    ]


def _in_image(points: np.ndarray, presence: float, matrix: np.ndarray) -> FaceLandmarks:
    """Crop-pixel points mapped back through the inverse of the crop's affine ``matrix``."""
    inverse = cv2.invertAffineTransform(matrix)
    xy = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
    scale = math.sqrt(abs(np.linalg.det(inverse[:, :2])))
    z = points[:, 2:3] * scale
    return FaceLandmarks(points=np.hstack([xy, z]).astype(np.float64), presence=presence)


def load_landmark_model(path: Path, threads: int = 1) -> TfliteLandmarkModel:
    """The TFLite reference (imports TensorFlow)."""
    return TfliteLandmarkModel(path, threads)


def load_litert_landmark_model(path: Path, threads: int | None = 1) -> TfliteLandmarkModel:
    """The pinned .tflite file on LiteRT (no TensorFlow); ``threads`` None or 0: one per core."""
    return TfliteLandmarkModel(path, threads or os.cpu_count() or 1, runtime="litert")


def load_onnx_landmark_model(path: Path, threads: int | None = 1) -> OnnxLandmarkModel:
    """The ONNX conversion (no TensorFlow)."""
    return OnnxLandmarkModel(path, threads)
