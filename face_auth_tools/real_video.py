"""Bona fide captures cut from real video of a moving head (shared/data/real-video).

A run is what the page would send for one challenge: ``CAPTURE_FRAMES`` frames taken
``interval_ms`` apart, seen through a webcam that does not move. The video's shots are found
by their cuts; a run lies inside one shot. Each run's window is fixed for the run (a webcam
does not follow the head): a 4:3 window around the median position of the face over the run,
sized so the face is about 42% of its height, scaled to 640x480, as ``camera_still`` frames a
photo. Frames go to the app as JPEG at quality 90, like the page's canvas.

Runs overlap (they start ``stride_ms`` apart), so they are not independent samples: report the
number of shots and seconds of footage beside the number of runs.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from face_auth.business_val.face.liveness import CAPTURE_INTERVAL_MS
from face_auth.face_pipeline import FaceModels, detect_faces
from face_auth_tools.framing import CAPTURE_FRAMES, FIND_CONFIG, webcam_window
from face_auth_tools.synthetic import jpeg_bytes

# A cut: the mean absolute change of a 64x36 grey thumbnail from one frame to the next.
CUT_CHANGE = 15.0
# The face the run follows must be found in every frame, at least this tall (video pixels).
MIN_FACE_PX = 30
# ... and a second face may be at most this share of its height (the audience shots).
MAX_OTHER_FACE_SHARE = 0.6


@dataclass(frozen=True)
class VideoRun:
    """One bona fide capture: where it comes from, and the frames as the page sends them."""

    name: str
    shot: int
    indices: tuple[int, ...]  # the video's frames the run shows
    frames: tuple[bytes, ...]


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame (RGB) and the frame rate."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot read video {path}")
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames, fps


def shots(frames: list[np.ndarray]) -> list[tuple[int, int]]:
    """(first, end) frame ranges between cuts."""
    bounds = [0]
    previous = None
    for index, frame in enumerate(frames):
        thumb = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (64, 36)).astype(np.float32)
        if previous is not None and float(np.abs(thumb - previous).mean()) > CUT_CHANGE:
            bounds.append(index)
        previous = thumb
    bounds.append(len(frames))
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def main_face(models: FaceModels, rgb: np.ndarray) -> tuple[float, float, float] | None:
    """(centre x, centre y, height) of the one clear face of the frame, else None."""
    faces = sorted(detect_faces(models.detector, rgb, FIND_CONFIG), key=lambda f: -f.box[3])
    if not faces or faces[0].box[3] < MIN_FACE_PX:
        return None
    if len(faces) > 1 and faces[1].box[3] > MAX_OTHER_FACE_SHARE * faces[0].box[3]:
        return None
    x, y, width, height = faces[0].box
    return x + width / 2, y + height / 2, float(height)


def video_runs(
    models: FaceModels,
    path: Path,
    stride_ms: int = CAPTURE_INTERVAL_MS,
    interval_ms: int = CAPTURE_INTERVAL_MS,
    count: int = CAPTURE_FRAMES,
) -> Iterator[VideoRun]:
    """Every run of ``count`` frames ``interval_ms`` apart inside one shot whose frames all
    show one clear face, starting every ``stride_ms``."""
    frames, fps = read_video(path)
    faces: dict[int, tuple[float, float, float] | None] = {}
    for shot_number, (first, end) in enumerate(shots(frames)):
        start_ms = 1000.0 * first / fps
        while True:
            indices = [round((start_ms + k * interval_ms) * fps / 1000.0) for k in range(count)]
            if indices[-1] >= end:
                break
            start_ms += stride_ms
            for index in indices:
                if index not in faces:
                    faces[index] = main_face(models, frames[index])
            found = [faces[index] for index in indices]
            if any(face is None for face in found):
                continue
            boxes = np.asarray(found, dtype=np.float64)
            centre = (float(np.median(boxes[:, 0])), float(np.median(boxes[:, 1])))
            height = float(np.median(boxes[:, 2]))
            shown = [webcam_window(frames[index], centre, height) for index in indices]
            yield VideoRun(
                f"{path.stem}@{indices[0]}", shot_number, tuple(indices),
                tuple(jpeg_bytes(frame) for frame in shown),
            )  # fmt: skip
