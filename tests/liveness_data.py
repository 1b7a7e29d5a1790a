"""Bona fide and attack frame sets for the liveness tests.

Bona fide captures are runs of real video (face_auth_tools.real_video): 12 frames at the
page's pace cut from the public-domain clip of a real moving head in shared/data/real-video.
A render of one photo is an attack, never bona fide: the animations (two different methods),
photo sequences, replays and prints below are all built from the 5-celebrity photos.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from face_auth.face_pipeline import FaceModels, PipelineConfig, analyse_frame
from face_auth.face_pipeline.detect import detect_faces, select_face
from face_auth.face_pipeline.landmarks import FaceLandmarks, face_landmarks
from face_auth.face_pipeline.liveness import Action, LivenessConfig
from face_auth_tools.liveness_evaluation import Subject, movement_made, photo_sequence, pivot_warp
from face_auth_tools.real_video import VideoRun, video_runs
from face_auth_tools.synthetic import (
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
ROOT = Path(__file__).resolve().parent.parent
REAL_VIDEO = ROOT.parent / "shared" / "data" / "real-video" / "short_hamilton_clip.mp4"


@dataclass(frozen=True)
class LiveSubject:
    """One photo framed like a webcam shot, with its landmarks: the attacker's material."""

    person: str
    photo: str
    still: np.ndarray
    landmarks: FaceLandmarks

    def head_turn(self, action: Action, seed: int = 0, count: int = CAPTURE_FRAMES) -> list[bytes]:
        """The photo animated by the mesh renderer into ``action``."""
        rng = np.random.default_rng(seed)
        angles = turn_angles(count, TURN_DEGREES, rng)
        frames = render_head_turn(self.still, self.landmarks, action, angles)
        return [jpeg_bytes(camera_noise(frame, rng)) for frame in frames]

    def pivot_turn(self, action: Action, seed: int = 0) -> list[bytes]:
        """The photo animated by the dense pivot warp (another method) into ``action``."""
        return pivot_warp(self.subject, action, np.random.default_rng(seed))

    def sequence_with(
        self, others: list["LiveSubject"], action: Action, seed: int = 0
    ) -> list[bytes]:
        """This photo, then the others turned furthest in ``action``'s direction."""
        frames = photo_sequence(self.subject, [o.subject for o in others], action,
                                np.random.default_rng(seed))  # fmt: skip
        assert frames is not None, f"no photo turned further toward {action}"
        return frames

    @property
    def subject(self) -> Subject:
        return Subject(self.person, self.photo, self.still, self.landmarks)

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


@dataclass(frozen=True)
class RealRun:
    """A run of the real clip and the movement the person makes in it."""

    run: VideoRun
    action: Action

    @property
    def frames(self) -> list[bytes]:
        return list(self.run.frames)


def real_runs(models: FaceModels, config: PipelineConfig, stride_ms: int = 125) -> list[RealRun]:
    """Every run of the real clip (runs start ``stride_ms`` apart), with its movement."""
    from face_auth.face_pipeline import embed_frames  # noqa: PLC0415

    assert REAL_VIDEO.is_file(), f"the real clip is missing: {REAL_VIDEO} (shared/data)"
    found = []
    for run in video_runs(models, REAL_VIDEO, stride_ms=stride_ms):
        evidence = embed_frames(models, list(run.frames), config, evidence=True).evidence
        found.append(RealRun(run, movement_made(evidence, LivenessConfig())))
    return found


def disjoint_pair(runs: list[RealRun]) -> tuple[RealRun, RealRun]:
    """Two runs with the same movement that share no frame of the video (a second capture,
    not a replay of the first)."""
    for first in runs:
        for second in runs:
            if first.action is second.action and not set(first.run.indices) & set(
                second.run.indices
            ):
                return first, second
    raise AssertionError("no two runs of the clip with one movement and no shared frame")
