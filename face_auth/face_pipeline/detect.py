"""MTCNN detection and the one-usable-face rule."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from face_auth.face_pipeline.config import PipelineConfig
from face_auth.face_pipeline.results import FaceDetection, FrameRejected, ReasonCode

# mtcnn's own default min_face_size, the largest that works (see detect_faces).
MTCNN_MIN_FACE_PX = 20


class FaceDetector(Protocol):
    """What the pipeline needs from a detector, ``OnnxMTCNN`` (the app's, onnx_mtcnn.py) or
    ``mtcnn.MTCNN`` (1.0, the reference): an RGB image in, a list of dicts out; a list of
    images in, one such list per image out."""

    def detect_faces(self, image: Any, **kwargs: Any) -> list[dict[str, Any]]: ...


def _point(value: Any, scale_x: float, scale_y: float) -> tuple[float, float]:
    return float(value[0]) * scale_x, float(value[1]) * scale_y


def parse_detection(
    raw: dict[str, Any], scale_x: float = 1.0, scale_y: float = 1.0
) -> FaceDetection:
    """Convert one mtcnn 1.0 result (box xywh, confidence, keypoints) to a FaceDetection.

    Coordinates are multiplied by the scales, to map them back from a resized image.
    """
    x, y, width, height = (float(v) for v in raw["box"])
    keypoints = raw["keypoints"]
    return FaceDetection(
        box=(
            round(x * scale_x),
            round(y * scale_y),
            round(width * scale_x),
            round(height * scale_y),
        ),
        confidence=float(raw["confidence"]),
        left_eye=_point(keypoints["left_eye"], scale_x, scale_y),
        right_eye=_point(keypoints["right_eye"], scale_x, scale_y),
        nose=_point(keypoints["nose"], scale_x, scale_y),
        mouth_left=_point(keypoints["mouth_left"], scale_x, scale_y),
        mouth_right=_point(keypoints["mouth_right"], scale_x, scale_y),
    )


def _detector_input(rgb: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """The float32 copy MTCNN runs on: shrunk by ``20 / detector_min_face_px`` (see
    detect_faces)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, MTCNN_MIN_FACE_PX / max(config.detector_min_face_px, 1))
    image = rgb
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return image.astype(np.float32)


def _parse_all(
    raw: list[dict[str, Any]], rgb: np.ndarray, image: np.ndarray
) -> list[FaceDetection]:
    """mtcnn's results on ``image`` as FaceDetections in ``rgb``'s pixels, most confident
    first."""
    scale_x, scale_y = rgb.shape[1] / image.shape[1], rgb.shape[0] / image.shape[0]
    faces = [parse_detection(item, scale_x, scale_y) for item in raw]
    return sorted(faces, key=lambda face: face.confidence, reverse=True)


# mtcnn's pyramid: each level is this much smaller than the one before it.
PYRAMID_SCALE_FACTOR = 0.709


@dataclass(frozen=True)
class FirstSearch:
    """The first search: PNet skips the ``skipped_levels`` largest levels of the pyramid,
    so it finds faces of ``min_face_px`` and up only."""

    skipped_levels: int
    min_face_px: float


def first_search(detector: FaceDetector, config: PipelineConfig) -> FirstSearch | None:
    """The coarse first search ``config`` asks for, when the detector can skip levels
    (OnnxMTCNN; mtcnn 1.0 cannot: it searches once). Level k finds faces of
    ``detector_min_face_px / 0.709**k`` and up (40, 56, 80, 112 ... px); the levels under
    ``detector_coarse_min_face_px`` are skipped (a 2 % tolerance keeps the 79.6 px level
    for 80)."""
    coarse, fine = config.detector_coarse_min_face_px, max(config.detector_min_face_px, 1)
    if coarse <= fine or not getattr(detector, "skips_levels", False):
        return None
    levels = math.ceil(math.log(coarse / fine) / -math.log(PYRAMID_SCALE_FACTOR) - 0.05)
    return FirstSearch(levels, fine / PYRAMID_SCALE_FACTOR**levels)


def settled_by(faces: list[FaceDetection], searched_px: float, config: PipelineConfig) -> bool:
    """Whether a search for faces of ``searched_px`` and up has found all that select_face
    needs: a confident main face so large that a face able to compete with it (a quarter of
    its area, is_competitor) is ``searched_px`` or more. Else the frame is searched again,
    down to ``detector_min_face_px``: its main face is small, or there is none."""
    main = main_face(faces, config)
    return (
        main is not None
        and math.sqrt(config.competitor_min_area_ratio * box_area(main)) >= searched_px
    )


def _search(
    detector: FaceDetector, image: np.ndarray | list[np.ndarray], search: FirstSearch | None
) -> Any:
    if search is None:
        return detector.detect_faces(image)
    return detector.detect_faces(image, skip_levels=search.skipped_levels)


def detect_faces(
    detector: FaceDetector, rgb: np.ndarray, config: PipelineConfig
) -> list[FaceDetection]:
    """All faces MTCNN finds in an (H, W, 3) RGB image, most confident first.

    mtcnn 1.0 returns no face at all when ``min_face_size`` is above ~24 (its image pyramid
    then gets levels under 12 px and the error is swallowed), so it always runs with its
    default of 20 px; to skip faces under ``detector_min_face_px`` (and save time) the image
    is shrunk by ``20 / detector_min_face_px`` instead, and the results scaled back.

    With ``detector_coarse_min_face_px``, a first search skips the pyramid's levels for
    smaller faces (first_search; the largest level alone is about half of PNet's pixels).
    Its proposals at the levels it keeps are the full search's, so it finds the faces the
    full search finds, mostly to the pixel (NMS across levels may keep another candidate
    box for a face: tests/pipeline/test_detect_search.py). A frame it does not settle
    (``settled_by``: no face, or a main face under twice its size) is searched in full, and
    gets the faces of that search.
    """
    image = _detector_input(rgb, config)
    search = first_search(detector, config)
    if search is not None:
        faces = _parse_all(_search(detector, image, search), rgb, image)
        if settled_by(faces, search.min_face_px, config):
            return faces
    return _parse_all(_search(detector, image, None), rgb, image)


def _detect_by_size(
    detector: FaceDetector,
    images: Sequence[np.ndarray],
    inputs: Sequence[np.ndarray],
    search: FirstSearch | None,
) -> list[list[FaceDetection]]:
    """Each image's faces (``inputs``: their detector inputs), one mtcnn call per size."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(inputs):
        groups.setdefault(image.shape, []).append(index)
    found: list[list[FaceDetection]] = [[] for _ in inputs]
    for indices in groups.values():
        raw = _search(detector, [inputs[index] for index in indices], search)
        for index, faces in zip(indices, raw, strict=True):
            found[index] = _parse_all(faces, images[index], inputs[index])
    return found


def detect_faces_batch(
    detector: FaceDetector, images: Sequence[np.ndarray], config: PipelineConfig
) -> list[list[FaceDetection]]:
    """``detect_faces`` for several RGB frames, in one mtcnn call per frame size and search.

    mtcnn 1.0 takes a list of images and runs each network once per pyramid level for all
    of them (8 camera frames: ~2x faster than one call per frame). It pads images of
    different sizes to the largest one, which would change what is found in the smaller
    ones, so frames are grouped by size: each group is stacked without padding, and every
    frame gets the faces ``detect_faces`` finds in it alone (tests/pipeline checks this).
    The frames the first search does not settle are searched in full together.
    """
    inputs = [_detector_input(rgb, config) for rgb in images]
    search = first_search(detector, config)
    found = _detect_by_size(detector, images, inputs, search)
    if search is None:
        return found
    again = [
        i for i, faces in enumerate(found) if not settled_by(faces, search.min_face_px, config)
    ]
    redone = _detect_by_size(detector, [images[i] for i in again], [inputs[i] for i in again], None)
    for index, faces in zip(again, redone, strict=True):
        found[index] = faces
    return found


def box_area(face: FaceDetection) -> int:
    return face.box[2] * face.box[3]


def is_competitor(other: FaceDetection, main: FaceDetection, config: PipelineConfig) -> bool:
    """True when ``other`` is a real second person next to the main face, not background.

    Measured on the 5-celebrity photos: people photographed with the subject scored
    confidence >= 0.98 at 0.58 to 0.91 of the main face's area; faces in a blurred
    background or a crowd are a few percent of it (0.08 to 0.09 here, and in the issue a
    blurred "face" of >= 80 px beside a portrait). A quarter of the area (half the side),
    at >= 0.95 confidence, separates the two with room on both sides.
    """
    return other.confidence >= config.competitor_min_confidence and box_area(
        other
    ) >= config.competitor_min_area_ratio * box_area(main)


def main_face(faces: list[FaceDetection], config: PipelineConfig) -> FaceDetection | None:
    """The largest detection at or above ``min_confidence``, or None."""
    confident = [face for face in faces if face.confidence >= config.min_confidence]
    return max(confident, key=box_area) if confident else None


def select_face(faces: list[FaceDetection], config: PipelineConfig) -> FaceDetection:
    """The main face, or FrameRejected (no_face, face_too_small, two_faces).

    The main face is the largest detection at or above ``min_confidence``; it must be at least
    ``min_face_px``. Another detection blocks the frame only when it competes with it
    (``is_competitor``): smaller or less confident ones (background, crowd, false positives)
    are ignored.
    """
    main = main_face(faces, config)
    if main is None:
        raise FrameRejected(ReasonCode.NO_FACE)
    if main.size < config.min_face_px:
        raise FrameRejected(ReasonCode.FACE_TOO_SMALL, f"{main.size}px")
    rivals = [
        face
        for face in faces
        if face is not main
        and face.confidence >= config.min_confidence
        and is_competitor(face, main, config)
    ]
    if rivals:
        raise FrameRejected(ReasonCode.TWO_FACES, f"{len(rivals) + 1} comparable faces")
    return main
