"""Typed outcomes of the pipeline: reason codes, per-frame results and the request result."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class ReasonCode(StrEnum):
    ACCEPTED = "accepted"
    NO_FACE = "no_face"
    TWO_FACES = "two_faces"
    FACE_TOO_SMALL = "face_too_small"
    TOO_DARK_OR_BLURRY = "too_dark_or_blurry"
    NOT_FRONTAL = "not_frontal"
    UNSUPPORTED_FORMAT = "unsupported_image_format"
    IMAGE_TOO_LARGE = "image_too_large"
    CORRUPT_IMAGE = "corrupt_image"


REASONS: dict[ReasonCode, str] = {
    ReasonCode.ACCEPTED: "face accepted",
    ReasonCode.NO_FACE: "no face",
    ReasonCode.TWO_FACES: "someone else is in the picture",
    ReasonCode.FACE_TOO_SMALL: "move closer to the camera",
    ReasonCode.TOO_DARK_OR_BLURRY: "too dark/blurry",
    ReasonCode.NOT_FRONTAL: "turn toward the camera",
    ReasonCode.UNSUPPORTED_FORMAT: "unsupported image format",
    ReasonCode.IMAGE_TOO_LARGE: "image too large",
    ReasonCode.CORRUPT_IMAGE: "corrupt image",
}


class FrameRejected(Exception):
    """Raised inside the pipeline when a frame fails a check; becomes a FrameResult."""

    def __init__(self, code: ReasonCode, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail


Box = tuple[int, int, int, int]
Point = tuple[float, float]


@dataclass(frozen=True)
class FaceDetection:
    """One MTCNN detection in image pixels: box is (x, y, width, height).

    ``left_eye`` is the eye on the left of the image (the person's right eye).
    """

    box: Box
    confidence: float
    left_eye: Point
    right_eye: Point
    nose: Point
    mouth_left: Point
    mouth_right: Point

    @property
    def size(self) -> int:
        return min(self.box[2], self.box[3])


@dataclass(frozen=True)
class FrameResult:
    """Outcome of one frame. ``faces`` counts detections at or above ``min_confidence``
    (of any size); ``confidence`` and ``box`` describe the selected face, when there is one.
    """

    index: int
    accepted: bool
    reason_code: ReasonCode
    reason: str
    confidence: float | None = None
    box: Box | None = None
    faces: int = 0

    @classmethod
    def reject(
        cls, index: int, code: ReasonCode, face: FaceDetection | None = None, faces: int = 0
    ) -> "FrameResult":
        return cls(
            index=index,
            accepted=False,
            reason_code=code,
            reason=REASONS[code],
            confidence=face.confidence if face else None,
            box=face.box if face else None,
            faces=faces,
        )

    @classmethod
    def accept(cls, index: int, face: FaceDetection, faces: int = 1) -> "FrameResult":
        return cls(
            index=index,
            accepted=True,
            reason_code=ReasonCode.ACCEPTED,
            reason=REASONS[ReasonCode.ACCEPTED],
            confidence=face.confidence,
            box=face.box,
            faces=faces,
        )


@dataclass(frozen=True)
class EmbeddingResult:
    """Embeddings of the accepted frames of one request.

    ``embeddings`` holds one L2-normalised row per accepted frame, in frame order, and
    ``embedding`` their L2-normalised mean; both are None when no frame was accepted.
    """

    embedding: np.ndarray | None
    frames: list[FrameResult] = field(default_factory=list)
    used: int = 0
    embeddings: np.ndarray | None = None
    # Seconds per stage for the whole request: decode, detect (with gates and alignment), embed.
    timings: dict[str, float] = field(default_factory=dict)
    # Per frame, for liveness (liveness.FrameEvidence), when the caller asked for it.
    evidence: list[Any] = field(default_factory=list)
