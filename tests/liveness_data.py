"""Bona fide and attack frame sets for the liveness tests, rendered from the real photos.

A bona fide capture is a synthetic head turn (face_auth.face_pipeline.synthetic): one photo
lifted onto its 468 landmarks, rotated a few degrees per frame and re-rendered per mesh
triangle, with webcam noise. It stands in for live video, which the dataset does not have.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from face_auth.face_pipeline import FaceModels, PipelineConfig, analyse_frame
from face_auth.face_pipeline.detect import detect_faces, select_face
from face_auth.face_pipeline.landmarks import FaceLandmarks, face_landmarks
from face_auth.face_pipeline.liveness import Action
from face_auth.face_pipeline.synthetic import (
    camera_noise,
    jpeg_bytes,
    print_frames,
    render_head_turn,
    replay_frames,
    turn_angles,
)
from tests.face_data import as_camera_frame, jpeg

CAPTURE_FRAMES = 12
TURN_DEGREES = 22.0


@dataclass(frozen=True)
class LiveSubject:
    """One photo framed like a webcam shot, with its landmarks."""

    person: str
    photo: str
    still: np.ndarray
    landmarks: FaceLandmarks

    def head_turn(self, action: Action, seed: int = 0, count: int = CAPTURE_FRAMES) -> list[bytes]:
        rng = np.random.default_rng(seed)
        angles = turn_angles(count, TURN_DEGREES, rng)
        frames = render_head_turn(self.still, self.landmarks, action, angles)
        return [jpeg_bytes(camera_noise(frame, rng)) for frame in frames]

    def replay(self, seed: int = 0, count: int = CAPTURE_FRAMES) -> list[bytes]:
        return replay_frames(self.still, count, np.random.default_rng(seed))

    def printed(self, seed: int = 0, count: int = CAPTURE_FRAMES) -> list[bytes]:
        return [jpeg(f) for f in print_frames(self.still, count, np.random.default_rng(seed))]


def live_subjects(
    models: FaceModels, dataset: Path, person: str, count: int, config: PipelineConfig
) -> list[LiveSubject]:
    """The first ``count`` photos of ``person`` whose webcam framing passes the app's gates."""
    assert models.landmarker is not None
    photos = sorted((dataset / "train" / person).glob("*")) + sorted(
        (dataset / "val" / person).glob("*")
    )
    subjects: list[LiveSubject] = []
    for photo in photos:
        still = as_camera_frame(models, photo)
        if still is None or not analyse_frame(models, jpeg(still), 0, config)[0].accepted:
            continue
        face = select_face(detect_faces(models.detector, still, config), config)
        marks = face_landmarks(models.landmarker, still, face)
        subjects.append(LiveSubject(person, photo.name, still, marks))
        if len(subjects) == count:
            return subjects
    raise AssertionError(f"only {len(subjects)} usable photos of {person}")
