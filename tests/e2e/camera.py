"""Fake webcams for Chromium: y4m videos built with ffmpeg from the dataset's real photos.

Chromium plays a y4m file as its camera (`--use-file-for-fake-video-capture`), from its first
frame each time the page opens the camera, and loops it. The page counts down 3-2-1 (READY_S)
after opening the camera, then takes 12 frames 250 ms apart, so the video's timing is the
capture's timing (the head turns pass liveness with the capture started up to 0.6 s earlier
or later).

- The genuine user's videos (`person_videos`) are head turns rendered from one photo framed
  like a webcam shot (`as_camera_frame`), with the renderer liveness is measured with
  (face_auth/face_pipeline/synthetic.py): still for the first seconds, then a turn in the one
  direction the server is pinned to ask (FACE_AUTH_LIVENESS_ACTIONS), and back; webcam noise on
  every frame, so no two frames are the same.
- The attacker's video (`flat_photo_video`) is the same photo held up as a flat picture and
  turned as a plane in the asked direction, which liveness must refuse.
"""

import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from face_auth.face_pipeline import (
    FaceModels,
    PipelineConfig,
    analyse_frame,
    detect_faces,
    embed_frames,
    select_face,
)
from face_auth.face_pipeline.landmarks import face_landmarks
from face_auth.face_pipeline.liveness import Action, LivenessConfig, evaluate_liveness
from face_auth_tools.synthetic import camera_noise, plane_turn, render_head_turn
from tests.face_data import FRAME_HEIGHT, FRAME_WIDTH, as_camera_frame, jpeg

FPS = 15
SECONDS = 7
# The page's capture: JPEG at quality 0.9 from a 640x480 canvas.
PAGE_JPEG_QUALITY = 90
# The page's capture (face_capture.js): a 3-2-1 countdown of READY_S after the camera opens
# (COUNTDOWN_FROM steps of COUNTDOWN_STEP_MS), then CAPTURE_FRAMES frames INTERVAL_S apart.
READY_S = 3 * 0.8
CAPTURE_FRAMES = 12
INTERVAL_S = 0.25
# The head turn of the genuine user's videos (seconds from the camera opening, degrees): still
# until TURN_START_S, out to TURN_DEGREES at TURN_PEAK_S, back to frontal at TURN_END_S.
# The turn starts 0.7 s into the capture, as a person starts moving at the page's "Now" cue.
TURN_START_S, TURN_PEAK_S, TURN_END_S = READY_S + 0.7, READY_S + 1.9, READY_S + 3.4
TURN_DEGREES = 22.0
# The flat picture turned as a plane: the same timing, a larger angle (a print turns easily).
PLANE_DEGREES = 30.0
ACTION = Action.TURN_LEFT


@dataclass(frozen=True)
class CameraVideo:
    person: str
    photo: str
    path: Path
    frames_checked: int  # the frames of the page's capture that the app's checks ran on
    embedding: np.ndarray  # mean FaceNet embedding of 8 of its frames, as the app computes it


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("ffmpeg is not installed: run `make browser`")
    return found


def turn_angle(seconds: float, peak: float) -> float:
    """The head's angle (degrees) at ``seconds`` after the camera opened: still, a smooth turn
    out to ``peak`` and back, still again."""
    if seconds <= TURN_START_S or seconds >= TURN_END_S:
        return 0.0
    if seconds <= TURN_PEAK_S:
        phase = (seconds - TURN_START_S) / (TURN_PEAK_S - TURN_START_S)
    else:
        phase = (TURN_END_S - seconds) / (TURN_END_S - TURN_PEAK_S)
    return peak * (1 - math.cos(math.pi * phase)) / 2


def head_turn_frames(
    still: np.ndarray, models: FaceModels, config: PipelineConfig, action: Action, seed: int
) -> Iterator[np.ndarray]:
    """The rendered head turn, one frame per 1/FPS s, each with its own webcam noise."""
    assert models.landmarker is not None
    face = select_face(detect_faces(models.detector, still, config), config)
    marks = face_landmarks(models.landmarker, still, face)
    angles = [turn_angle(i / FPS, TURN_DEGREES) for i in range(FPS * SECONDS)]
    rng = np.random.default_rng(seed)
    for frame in render_head_turn(still, marks, action, angles):
        yield camera_noise(frame, rng)


def flat_photo_frames(still: np.ndarray, action: Action, seed: int) -> Iterator[np.ndarray]:
    """The photo as a flat picture turned like the asked head movement, with webcam noise."""
    rng = np.random.default_rng(seed)
    for i in range(FPS * SECONDS):
        matrix = plane_turn(still.shape, action, turn_angle(i / FPS, PLANE_DEGREES))
        moved = cv2.warpPerspective(
            still, matrix, (FRAME_WIDTH, FRAME_HEIGHT), borderMode=cv2.BORDER_REPLICATE
        )
        yield camera_noise(moved, rng)


def page_capture(decoded: np.ndarray) -> list[bytes]:
    """The frames the page takes from the video, at the times it takes them."""
    indices = [round((READY_S + i * INTERVAL_S) * FPS) for i in range(CAPTURE_FRAMES)]
    return [jpeg(decoded[index], PAGE_JPEG_QUALITY) for index in indices]


def write_y4m(frames: Iterator[np.ndarray], path: Path) -> None:
    """Pipe raw RGB frames through ffmpeg into a 4:2:0 y4m file, the format Chromium reads."""
    command = [
        ffmpeg(), "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{FRAME_WIDTH}x{FRAME_HEIGHT}",
        "-r", str(FPS), "-i", "-",
        "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(path),
    ]  # fmt: skip
    raw = b"".join(np.ascontiguousarray(frame, dtype=np.uint8).tobytes() for frame in frames)
    subprocess.run(command, input=raw, check=True, capture_output=True)


def read_y4m(path: Path) -> np.ndarray:
    """Decode the y4m back to RGB frames, (n, 480, 640, 3): exactly what the camera will show."""
    command = [
        ffmpeg(), "-loglevel", "error", "-i", str(path),
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    raw = subprocess.run(command, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, FRAME_HEIGHT, FRAME_WIDTH, 3)


# The server under test runs every liveness check but the single-picture one, which a fake
# camera playing a render of one photo cannot pass (tests/e2e/conftest.py, app_settings).
SERVER_LIVENESS = LivenessConfig(texture_check=False)


def video_of(
    models: FaceModels, person: str, photo: Path, path: Path, config: PipelineConfig, seed: int
) -> CameraVideo | None:
    """The head-turn video of one photo; None unless the page's capture of it passes the app's
    gates and its liveness checks for ACTION (as the server, pinned to ACTION, will judge it)."""
    still = as_camera_frame(models, photo)
    if still is None:
        return None
    first, _ = analyse_frame(models, jpeg(still, PAGE_JPEG_QUALITY), 0, config)
    if not first.accepted:
        return None
    write_y4m(head_turn_frames(still, models, config, ACTION, seed), path)
    decoded = read_y4m(path)
    assert len(decoded) == FPS * SECONDS, f"{path.name}: {len(decoded)} frames"
    captured = embed_frames(models, page_capture(decoded), config, keep=8, evidence=True)
    verdict = evaluate_liveness(captured.evidence, ACTION, [], SERVER_LIVENESS)
    # Enrollment needs 6 usable frames of the 12 (face_enroll_min_frames).
    if captured.used < 6 or captured.embedding is None or not verdict.passed:
        path.unlink()
        return None
    return CameraVideo(person, photo.name, path, len(captured.frames), captured.embedding)


def flat_photo_video(
    models: FaceModels, dataset: Path, person: str, path: Path, config: PipelineConfig
) -> CameraVideo:
    """The first usable photo of ``person`` turned as a flat picture; liveness refuses it."""
    for photo in photos_of(dataset, person):
        still = as_camera_frame(models, photo)
        if still is None or not analyse_frame(models, jpeg(still), 0, config)[0].accepted:
            continue
        write_y4m(flat_photo_frames(still, ACTION, 0), path)
        captured = embed_frames(models, page_capture(read_y4m(path)), config, keep=8, evidence=True)
        verdict = evaluate_liveness(captured.evidence, ACTION, [], SERVER_LIVENESS)
        assert not verdict.passed, f"liveness passed a flat photo of {person}"
        assert captured.embedding is not None
        return CameraVideo(person, photo.name, path, len(captured.frames), captured.embedding)
    raise AssertionError(f"no usable photo of {person}")


def photos_of(dataset: Path, person: str) -> list[Path]:
    return sorted((dataset / "train" / person).glob("*")) + sorted(
        (dataset / "val" / person).glob("*")
    )


def person_videos(
    models: FaceModels,
    dataset: Path,
    person: str,
    count: int,
    out_dir: Path,
    config: PipelineConfig,
) -> list[CameraVideo]:
    """`count` head-turn videos of one person, each from a different photo (the first usable
    ones, in order)."""
    videos: list[CameraVideo] = []
    for number, photo in enumerate(photos_of(dataset, person)):
        path = out_dir / f"{person}-{len(videos)}.y4m"
        video = video_of(models, person, photo, path, config, number)
        if video is not None:
            videos.append(video)
        if len(videos) == count:
            return videos
    raise AssertionError(f"only {len(videos)} usable camera videos of {person}")
