"""Fake webcams for Chromium: y4m videos built with ffmpeg from the dataset's real photos.

Chromium plays a y4m file as its camera (`--use-file-for-fake-video-capture`) and loops it. Each
video is one photo framed like a webcam shot (`as_camera_frame`), with a slow zoom in and out and
a small sway, so consecutive frames differ the way a live picture does and the loop has no jump.
"""

import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from face_auth.face_pipeline import FaceModels, PipelineConfig, analyse_frame, embed_frames
from tests.face_data import FRAME_HEIGHT, FRAME_WIDTH, as_camera_frame, jpeg

FPS = 15
SECONDS = 6
ZOOM = 0.12  # the face grows by up to 12% and back, like someone leaning in slowly
SWAY_PX = 14.0
# Every CHECK_EVERY-th frame of the finished video goes through the app's own gates.
CHECK_EVERY = 6
# The page's capture: JPEG at quality 0.9 from a 640x480 canvas.
PAGE_JPEG_QUALITY = 90


@dataclass(frozen=True)
class CameraVideo:
    person: str
    photo: str
    path: Path
    frames_checked: int
    embedding: np.ndarray  # mean FaceNet embedding of 8 of its frames, as the app computes it


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("ffmpeg is not installed: run `make browser`")
    return found


def camera_motion(still: np.ndarray, count: int) -> Iterator[np.ndarray]:
    """`count` frames of a slow zoom in and out around the centre, with a slight sway."""
    centre_x, centre_y = FRAME_WIDTH / 2, FRAME_HEIGHT / 2
    for index in range(count):
        phase = index / count
        scale = 1 + ZOOM * (1 - abs(2 * phase - 1))  # 1 -> 1+ZOOM -> 1: loops without a jump
        shift_x = SWAY_PX * math.sin(2 * math.pi * phase)
        shift_y = SWAY_PX / 2 * math.sin(4 * math.pi * phase)
        matrix = np.array(
            [
                [scale, 0, (1 - scale) * centre_x + shift_x],
                [0, scale, (1 - scale) * centre_y + shift_y],
            ],
            dtype=np.float64,
        )
        yield cv2.warpAffine(
            still,
            matrix,
            (FRAME_WIDTH, FRAME_HEIGHT),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )


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


def video_of(
    models: FaceModels, person: str, photo: Path, path: Path, config: PipelineConfig
) -> CameraVideo | None:
    """Build the video of one photo; None unless every checked frame passes the app's gates."""
    still = as_camera_frame(models, photo)
    if still is None:
        return None
    first, _ = analyse_frame(models, jpeg(still, PAGE_JPEG_QUALITY), 0, config)
    if not first.accepted:
        return None
    write_y4m(camera_motion(still, FPS * SECONDS), path)
    decoded = read_y4m(path)
    assert len(decoded) == FPS * SECONDS, f"{path.name}: {len(decoded)} frames"
    checked = [jpeg(frame, PAGE_JPEG_QUALITY) for frame in decoded[::CHECK_EVERY]]
    results = [analyse_frame(models, data, i, config)[0] for i, data in enumerate(checked)]
    if not all(result.accepted for result in results):
        path.unlink()
        return None
    # Eight frames spread over the clip, as the page takes them (250 ms apart is ~4 frames).
    eight = [jpeg(frame, PAGE_JPEG_QUALITY) for frame in decoded[::4][:8]]
    embedded = embed_frames(models, eight, config)
    assert embedded.used == len(eight) and embedded.embedding is not None
    return CameraVideo(person, photo.name, path, len(checked), embedded.embedding)


def person_videos(
    models: FaceModels,
    dataset: Path,
    person: str,
    count: int,
    out_dir: Path,
    config: PipelineConfig,
) -> list[CameraVideo]:
    """`count` videos of one person, each from a different photo (first usable ones, in order)."""
    photos = sorted((dataset / "train" / person).glob("*")) + sorted(
        (dataset / "val" / person).glob("*")
    )
    videos: list[CameraVideo] = []
    for photo in photos:
        video = video_of(models, person, photo, out_dir / f"{person}-{len(videos)}.y4m", config)
        if video is not None:
            videos.append(video)
        if len(videos) == count:
            return videos
    raise AssertionError(f"only {len(videos)} usable camera videos of {person}")
