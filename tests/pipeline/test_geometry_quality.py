import math
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from face_auth.face_pipeline import (
    REASONS,
    FaceDetection,
    FrameRejected,
    PipelineConfig,
    ReasonCode,
    align_face,
    detect_faces,
    detect_faces_batch,
    select_face,
)
from face_auth.face_pipeline.align import eye_angle
from face_auth.face_pipeline.quality import check_exposure, check_pose, pose_ratios

CONFIG = PipelineConfig()


def make_face(
    center: tuple[float, float] = (200.0, 200.0),
    size: int = 120,
    roll_degrees: float = 0.0,
    yaw: float = 0.0,
    confidence: float = 0.99,
) -> FaceDetection:
    """Landmarks of a frontal face (eye distance 0.4 * size), rolled and with a nose shift."""
    cx, cy = center
    roll = math.radians(roll_degrees)
    cos, sin = math.cos(roll), math.sin(roll)

    def place(dx: float, dy: float) -> tuple[float, float]:
        return cx + dx * cos - dy * sin, cy + dx * sin + dy * cos

    half_eyes = 0.2 * size
    return FaceDetection(
        box=(round(cx - size / 2), round(cy - size / 2), size, size),
        confidence=confidence,
        left_eye=place(-half_eyes, -0.15 * size),
        right_eye=place(half_eyes, -0.15 * size),
        nose=place(yaw * 2 * half_eyes, 0.1 * size),
        mouth_left=place(-0.15 * size, 0.25 * size),
        mouth_right=place(0.15 * size, 0.25 * size),
    )


def test_eye_angle_sign_follows_image_coordinates() -> None:
    assert eye_angle(make_face(roll_degrees=0)) == pytest.approx(0.0)
    assert eye_angle(make_face(roll_degrees=20)) == pytest.approx(20.0)
    assert eye_angle(make_face(roll_degrees=-35)) == pytest.approx(-35.0)


@pytest.mark.parametrize("roll", [-30.0, -10.0, 0.0, 15.0, 40.0])
def test_align_face_levels_the_eyes(roll: float) -> None:
    face = make_face(roll_degrees=roll)
    image = np.zeros((400, 400, 3), dtype=np.uint8)
    cv2.circle(image, tuple(round(v) for v in face.left_eye), 4, (255, 0, 0), -1)
    cv2.circle(image, tuple(round(v) for v in face.right_eye), 4, (0, 255, 0), -1)
    crop = align_face(image, face, 160, 0.0)
    assert crop.shape == (160, 160, 3)
    left = np.argwhere(crop[..., 0] > 128).mean(axis=0)
    right = np.argwhere(crop[..., 1] > 128).mean(axis=0)
    assert abs(left[0] - right[0]) < 1.5, "eyes on the same row"
    assert left[1] < right[1], "left eye stays on the left"
    # Eye distance 0.4 * size maps to 0.4 * 160 px.
    assert math.hypot(*(left - right)) == pytest.approx(64, abs=2)


def test_align_face_shrinks_large_faces_without_moving_them() -> None:
    face = make_face(center=(600.0, 500.0), size=700, roll_degrees=12)
    image = np.zeros((1000, 1200, 3), dtype=np.uint8)
    cv2.circle(image, tuple(round(v) for v in face.left_eye), 12, (255, 0, 0), -1)
    cv2.circle(image, tuple(round(v) for v in face.right_eye), 12, (0, 255, 0), -1)
    crop = align_face(image, face, 160, 0.0)
    left = np.argwhere(crop[..., 0] > 100).mean(axis=0)
    right = np.argwhere(crop[..., 1] > 100).mean(axis=0)
    assert abs(left[0] - right[0]) < 1.5
    assert math.hypot(*(left - right)) == pytest.approx(64, abs=2)
    assert left[0] == pytest.approx(80 - 0.15 * 160, abs=2)


def test_pose_ratios() -> None:
    yaw, pitch = pose_ratios(make_face(roll_degrees=25))
    assert yaw == pytest.approx(0.0, abs=1e-9)
    assert pitch == pytest.approx(0.25 / 0.4)
    assert pose_ratios(make_face(yaw=0.5))[0] == pytest.approx(0.5)
    assert pose_ratios(make_face(yaw=-0.5, roll_degrees=-30))[0] == pytest.approx(-0.5)


def test_check_pose_rejects_turned_faces() -> None:
    check_pose(make_face(yaw=0.2, roll_degrees=20), CONFIG)
    with pytest.raises(FrameRejected) as caught:
        check_pose(make_face(yaw=0.45), CONFIG)
    assert caught.value.code == ReasonCode.NOT_FRONTAL


def textured(level: float) -> np.ndarray:
    noise = np.random.default_rng(3).normal(0, 30, (160, 160, 1))
    return np.clip(level + noise, 0, 255).repeat(3, axis=2).astype(np.uint8)


def test_check_exposure() -> None:
    check_exposure(textured(120), CONFIG)
    for bad in (textured(15), textured(245), np.full((160, 160, 3), 120, dtype=np.uint8)):
        with pytest.raises(FrameRejected) as caught:
            check_exposure(bad, CONFIG)
        assert caught.value.code == ReasonCode.TOO_DARK_OR_BLURRY
    blurred = cv2.GaussianBlur(textured(120), (0, 0), 4)
    with pytest.raises(FrameRejected):
        check_exposure(blurred, CONFIG)


def select_code(faces: list[FaceDetection]) -> ReasonCode:
    with pytest.raises(FrameRejected) as caught:
        select_face(faces, CONFIG)
    return caught.value.code


def test_select_face_takes_the_largest_confident_face() -> None:
    big = make_face(size=150, confidence=0.93)
    sure_but_small = make_face(center=(450.0, 200.0), size=60, confidence=0.999)
    unsure = make_face(center=(450.0, 200.0), size=200, confidence=0.5)
    assert select_face([sure_but_small, unsure, big], CONFIG) == big
    assert select_code([make_face(size=40)]) == ReasonCode.FACE_TOO_SMALL
    assert select_code([unsure]) == ReasonCode.NO_FACE
    assert select_code([]) == ReasonCode.NO_FACE


def test_background_faces_do_not_block_the_main_face() -> None:
    main = make_face(size=300)
    # A blurred crowd "face" of 100 px beside a 300 px portrait (the case in issue 12):
    # 11 % of the main face's area, however confident.
    crowd = make_face(center=(600.0, 150.0), size=100, confidence=0.999)
    # Someone as close as the user, but a doubtful detection (MTCNN in blur or texture).
    doubtful = make_face(center=(650.0, 200.0), size=280, confidence=0.93)
    assert select_face([main, crowd, doubtful], CONFIG) == main


@pytest.mark.parametrize(
    ("size", "confidence"),
    [(300, 0.99), (250, 0.96), (150, 0.95)],  # area 100 %, 69 %, 25 % of the main face
)
def test_a_comparable_confident_second_face_is_refused(size: int, confidence: float) -> None:
    main = make_face(size=300)
    other = make_face(center=(650.0, 200.0), size=size, confidence=confidence)
    with pytest.raises(FrameRejected) as caught:
        select_face([main, other], CONFIG)
    assert caught.value.code == ReasonCode.TWO_FACES
    assert REASONS[caught.value.code] == "someone else is in the picture"


def test_competitor_thresholds_come_from_the_config() -> None:
    main = make_face(size=300)
    other = make_face(center=(650.0, 200.0), size=140, confidence=0.97)  # 22 % of the area
    assert select_face([main, other], CONFIG) == main
    strict = replace(CONFIG, competitor_min_area_ratio=0.2)
    with pytest.raises(FrameRejected):
        select_face([main, other], strict)
    assert select_face([main, other], replace(strict, competitor_min_confidence=0.98)) == main


class FakeDetector:
    """Returns one face at fixed coordinates of whatever image it is given."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []
        self.batches: list[list[tuple[int, ...]]] = []
        self.dtypes: list[np.dtype[Any]] = []

    def detect_faces(self, image: Any, **kwargs: Any) -> list[Any]:
        assert not kwargs, "mtcnn 1.0 must run with its default min_face_size"
        if isinstance(image, list):  # mtcnn 1.0's batch: one list of faces per image
            self.batches.append([item.shape for item in image])
            return [self.detect_faces(item) for item in image]
        self.shapes.append(image.shape)
        self.dtypes.append(image.dtype)
        return [
            {
                "box": [10, 20, 30, 40],
                "confidence": 0.98,
                "keypoints": {
                    "left_eye": [15, 30],
                    "right_eye": [30, 30],
                    "nose": [22, 40],
                    "mouth_left": [16, 50],
                    "mouth_right": [29, 50],
                },
            }
        ]


def test_detect_faces_shrinks_the_frame_and_maps_coordinates_back() -> None:
    detector = FakeDetector()
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    [face] = detect_faces(detector, frame, PipelineConfig(detector_min_face_px=40))
    assert detector.shapes == [(240, 320, 3)]
    assert detector.dtypes == [np.float32]
    assert face.box == (20, 40, 60, 80)
    assert face.left_eye == (30.0, 60.0)
    [same] = detect_faces(detector, frame, PipelineConfig(detector_min_face_px=20))
    assert detector.shapes[-1] == (480, 640, 3)
    assert same.box == (10, 20, 30, 40)


class SizedDetector(FakeDetector):
    """FakeDetector whose face starts at an eighth of the image's width."""

    def detect_faces(self, image: Any, **kwargs: Any) -> list[Any]:
        found = super().detect_faces(image, **kwargs)
        if not isinstance(image, list):
            found[0]["box"] = [image.shape[1] / 8, 20, 30, 40]
        return found


def test_batched_detection_groups_frames_by_size_and_keeps_their_order() -> None:
    """mtcnn pads a batch to its largest image, which would move faces in the smaller ones:
    each size gets its own call, and each frame its own faces, scaled back to its pixels."""
    detector = SizedDetector()
    big, small = np.zeros((480, 640, 3), np.uint8), np.zeros((240, 320, 3), np.uint8)
    config = PipelineConfig(detector_min_face_px=40)
    found = detect_faces_batch(detector, [big, small, big, big, small], config)
    assert detector.batches == [[(240, 320, 3)] * 3, [(120, 160, 3)] * 2]
    assert set(detector.dtypes) == {np.dtype(np.float32)}
    assert [[face.box[0] for face in faces] for faces in found] == [[80], [40], [80], [80], [40]]
    single = [detect_faces(detector, frame, config) for frame in (big, small)]
    assert found[0] == single[0] and found[1] == single[1]
    assert detect_faces_batch(detector, [], config) == []
    assert len(detector.batches) == 2
