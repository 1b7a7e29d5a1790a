"""The coarse first search of detect.py: which frames it settles, and that it finds what the
full search finds (the faces, and the second face that refuses a frame)."""

import math
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from face_auth.face_pipeline import (
    FaceDetection,
    FaceModels,
    FrameRejected,
    PipelineConfig,
    ReasonCode,
    detect_faces,
    detect_faces_batch,
    select_face,
)
from face_auth.face_pipeline.detect import FirstSearch, box_area, first_search, settled_by
from tests.face_data import as_camera_frame
from tests.pipeline.conftest import DatasetFace

FULL = replace(PipelineConfig(), detector_coarse_min_face_px=0)


def face_dict(side: int, confidence: float = 0.99) -> dict[str, Any]:
    keypoints = {"left_eye": [12, 22], "right_eye": [20, 22], "nose": [16, 26],
                 "mouth_left": [13, 30], "mouth_right": [19, 30]}  # fmt: skip
    return {"box": [10, 20, side, side], "confidence": confidence, "keypoints": keypoints}


class LevelSkippingDetector:
    """Takes ``skip_levels`` as OnnxMTCNN does; finds one face ``side`` px wide (in its
    input's pixels) in every image, or none, and records its calls."""

    skips_levels = True

    def __init__(self, side: int | None, confidence: float = 0.99) -> None:
        self.side, self.confidence = side, confidence
        self.calls: list[tuple[int, int]] = []  # (images, skip_levels)

    def detect_faces(self, image: Any, skip_levels: int = 0) -> list[Any]:
        images = image if isinstance(image, list) else [image]
        self.calls.append((len(images), skip_levels))
        found = [
            [] if self.side is None else [face_dict(self.side, self.confidence)] for _ in images
        ]
        return found if isinstance(image, list) else found[0]


class MtcnnLike:
    """mtcnn 1.0's detector: no ``skips_levels`` (it would ignore the keyword)."""

    def detect_faces(self, image: Any, **kwargs: Any) -> list[Any]:
        return []


def test_the_first_search_skips_the_pyramid_levels_for_faces_under_the_coarse_size() -> None:
    detector = LevelSkippingDetector(None)
    # Level k finds faces of 40 / 0.709**k px and up: 40, 56.4, 79.6, 112 ...
    default = first_search(detector, PipelineConfig())
    assert default is not None and default.skipped_levels == 1
    assert default.min_face_px == pytest.approx(40 / 0.709)
    coarse = first_search(detector, replace(PipelineConfig(), detector_coarse_min_face_px=80))
    assert coarse is not None and coarse.skipped_levels == 2
    assert coarse.min_face_px == pytest.approx(40 / 0.709**2)
    small = replace(PipelineConfig(), detector_min_face_px=20)
    assert first_search(detector, small) == FirstSearch(3, pytest.approx(20 / 0.709**3))
    assert first_search(detector, FULL) is None
    assert first_search(detector, replace(PipelineConfig(), detector_min_face_px=80)) is None
    assert first_search(MtcnnLike(), PipelineConfig()) is None


def test_a_frame_is_settled_by_a_main_face_twice_the_searched_size() -> None:
    config = PipelineConfig()

    def face(side: int, confidence: float = 0.99) -> FaceDetection:
        return FaceDetection(box=(0, 0, side, side), confidence=confidence, left_eye=(0, 0),
                             right_eye=(0, 0), nose=(0, 0), mouth_left=(0, 0),
                             mouth_right=(0, 0))  # fmt: skip

    # A competitor has a quarter of the main face's area: half its side.
    assert settled_by([face(120)], 60, config)
    assert not settled_by([face(119)], 60, config)
    assert settled_by([face(60), face(130)], 60, config)  # the largest face is the main one
    assert not settled_by([face(200, confidence=0.5)], 60, config)  # not a face to select
    assert not settled_by([], 60, config)


def test_frames_with_a_large_face_are_searched_once_the_others_again_in_full() -> None:
    frames = [np.zeros((480, 640, 3), np.uint8)] * 3
    # The detector sees the frames at half size (detector_min_face_px 40): a 60 px face in
    # its input is 120 px in the frame, twice the first search's 56.4 px.
    large = LevelSkippingDetector(60)
    found = detect_faces_batch(large, frames, PipelineConfig())
    assert large.calls == [(3, 1)]
    assert [faces[0].box for faces in found] == [(20, 40, 120, 120)] * 3
    assert detect_faces(large, frames[0], PipelineConfig()) == found[0]
    assert large.calls[-1] == (1, 1)
    for detector in (LevelSkippingDetector(56), LevelSkippingDetector(None),
                     LevelSkippingDetector(60, confidence=0.8)):  # fmt: skip
        detect_faces_batch(detector, frames, PipelineConfig())
        detect_faces(detector, frames[0], PipelineConfig())
        assert detector.calls == [(3, 1), (3, 0), (1, 1), (1, 0)]
    full = LevelSkippingDetector(60)
    detect_faces_batch(full, frames, FULL)
    assert full.calls == [(3, 0)]


def paste_second_face(frame: np.ndarray, other: np.ndarray, face: FaceDetection, side: float
                      ) -> np.ndarray:  # fmt: skip
    """``frame`` with ``other``'s face (at ``face``) scaled so that its box's square root of
    area is ``side`` px, pasted at the bottom left, away from the frame's own face."""
    x, y, width, height = face.box
    scale = side / math.sqrt(width * height)
    half = 0.8 * max(width, height)
    cx, cy = x + width / 2, y + height / 2
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(other.shape[1], cx + half)), int(min(other.shape[0], cy + half))
    patch = cv2.resize(other[y0:y1, x0:x1], None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    pasted = frame.copy()
    top = frame.shape[0] - patch.shape[0] - 10
    pasted[top : top + patch.shape[0], 5 : 5 + patch.shape[1]] = patch
    return pasted


def outcome(faces: list[FaceDetection], config: PipelineConfig) -> ReasonCode | FaceDetection:
    try:
        return select_face(faces, config)
    except FrameRejected as rejection:
        return rejection.code


def overlap(first: FaceDetection, second: FaceDetection) -> float:
    """Intersection over union of two boxes."""
    (x1, y1, w1, h1), (x2, y2, w2, h2) = first.box, second.box
    width = max(0, min(x1 + w1, x2 + w2) - max(x1, x2))
    height = max(0, min(y1 + h1, y2 + h2) - max(y1, y2))
    common = width * height
    return common / (w1 * h1 + w2 * h2 - common)


def same_places(found: list[FaceDetection], expected: list[FaceDetection]) -> bool:
    """The same faces, each within a few pixels (boxes overlapping by 70 % or more)."""
    return len(found) == len(expected) and all(
        max(overlap(face, other) for other in expected) >= 0.7 for face in found
    )


@pytest.mark.models
def test_the_first_search_finds_the_faces_the_full_search_finds(
    face_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    """On webcam-like frames of the dataset's photos, alone and with a second person whose
    face has a quarter to half the main face's area (a competitor, is_competitor), the
    default detection (the first search, the full one where it does not settle) finds the
    faces the full search finds in every frame, most of them to the pixel.

    Measured (117 and 115 frames): identical faces in 114 and 108 frames; the others
    differ by a few pixels, as a detection does from one candidate box to another, and two
    of them change select_face's answer at a rule's boundary (a second face at 0.243
    instead of 0.277 of the main face's area, against 0.25; a confidence of 0.97 instead
    of 0.889, against 0.9)."""
    frames = [as_camera_frame(face_models, face.photo.path) for face in dataset_faces]
    camera = [frame for frame in frames if frame is not None]
    with_second = []
    for index, frame in enumerate(camera):
        other = camera[(index + 5) % len(camera)]
        mains = detect_faces(face_models.detector, frame, FULL)
        faces = detect_faces(face_models.detector, other, FULL)
        if not mains or not faces:
            continue
        main, face = mains[0], faces[0]
        share = (0.25, 0.3, 0.5)[index % 3]
        with_second.append(paste_second_face(frame, other, face, math.sqrt(share * box_area(main))))
    calls: list[tuple[int, int]] = []

    class Recorded:
        skips_levels = True

        def detect_faces(self, image: Any, **kwargs: Any) -> Any:
            calls.append((len(image), kwargs.get("skip_levels", 0)))
            return face_models.detector.detect_faces(image, **kwargs)

    config = PipelineConfig()
    for batch in (camera, with_second):
        calls.clear()
        default = detect_faces_batch(Recorded(), batch, config)
        full = detect_faces_batch(face_models.detector, batch, FULL)
        assert all(same_places(a, b) for a, b in zip(default, full, strict=True))
        identical = sum(a == b for a, b in zip(default, full, strict=True))
        assert identical >= 0.9 * len(batch)
        outcomes = [
            (outcome(a, config), outcome(b, config)) for a, b in zip(default, full, strict=True)
        ]
        changed = sum(
            isinstance(a, ReasonCode) != isinstance(b, ReasonCode)
            or (isinstance(a, ReasonCode) and a != b)
            for a, b in outcomes
        )
        assert changed <= 0.03 * len(batch)
        # Every frame has the first search and most are settled by it: both paths ran.
        assert calls[0] == (len(batch), 1)
        assert all(skipped == 0 for _, skipped in calls[1:])
        assert 0 < sum(count for count, _ in calls[1:]) <= len(batch) // 10
    assert len(camera) >= 100
    two_faces = [
        sum(outcome(faces, config) == ReasonCode.TWO_FACES for faces in found)
        for found in (detect_faces_batch(face_models.detector, with_second, search)
                      for search in (config, FULL))
    ]  # fmt: skip
    assert two_faces[0] >= 0.7 * len(with_second)
    assert abs(two_faces[0] - two_faces[1]) <= 2
