"""MediaPipe's face-landmark model on real photos, through tf.lite (models marker)."""

import time

import numpy as np
import pytest

from face_auth.face_pipeline import FaceModels, FrameRejected, detect_faces, select_face
from face_auth.face_pipeline.landmarks import (
    CHIN,
    FOREHEAD,
    LANDMARK_COUNT,
    LANDMARK_INPUT,
    NOSE_TIP,
    face_landmarks,
)
from tests.pipeline.helpers import DATASET_CONFIG, Photo, load_rgb

pytestmark = pytest.mark.models


def test_landmarks_fall_on_the_face_and_run_in_milliseconds(
    face_models: FaceModels, photos: list[Photo]
) -> None:
    assert face_models.landmarker is not None
    checked = 0
    for photo in photos[::12]:
        rgb = load_rgb(photo.path)
        faces = detect_faces(face_models.detector, rgb, DATASET_CONFIG)
        try:
            face = select_face(faces, DATASET_CONFIG)
        except FrameRejected:  # photos without a usable face are skipped
            continue
        marks = face_landmarks(face_models.landmarker, rgb, face)
        assert marks.points.shape == (LANDMARK_COUNT, 3)
        assert marks.presence > 0.5
        x, y, width, height = face.box
        nose = marks.xy[NOSE_TIP]
        assert x <= nose[0] <= x + width and y <= nose[1] <= y + height
        assert marks.xy[FOREHEAD][1] < nose[1] < marks.xy[CHIN][1]
        checked += 1
    assert checked >= 5
    crop = np.random.default_rng(0).random((1, LANDMARK_INPUT, LANDMARK_INPUT, 3), np.float32)
    started = time.perf_counter()
    for _ in range(50):
        face_models.landmarker(crop)
    per_call_ms = (time.perf_counter() - started) / 50 * 1000
    assert per_call_ms < 25, per_call_ms  # ~1.3 ms measured on one core
