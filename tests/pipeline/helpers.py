"""Shared helpers for the pipeline tests and the evaluation script (not part of the app)."""

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from face_auth.face_pipeline import PipelineConfig
from face_auth_tools import evaluation

REPO_ROOT = Path(__file__).resolve().parents[2]

# The 5-celebrity photos are web images with small faces (median ~75 px), some turned
# sideways: relax size and pose so the recogniser, not the gates, is what is measured.
DATASET_CONFIG = PipelineConfig(
    min_face_px=24,
    detector_min_face_px=20,
    min_sharpness=0.0,
    max_yaw_ratio=1.0,
    min_pitch_ratio=0.0,
    max_pitch_ratio=2.0,
)


@dataclass(frozen=True)
class Photo:
    split: str
    person: str
    path: Path


def dataset_photos(root: Path) -> list[Photo]:
    """Photos under root/{train,val}/<person>/, sorted by split, person, name."""
    return [
        Photo(split=path.parent.parent.name, person=path.parent.name, path=path)
        for split in ("train", "val")
        for path in sorted((root / split).glob("*/*"))
        if path.is_file()
    ]


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def encode(rgb: np.ndarray, image_format: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header (SOF0) is rewritten to claim width x height:
    what a decompression bomb looks like from its header."""
    data = bytearray(encode(np.full((8, 8, 3), 128, dtype=np.uint8), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def quadrants(width: int, height: int) -> np.ndarray:
    """An image in four flat colours (red, green / blue, white), smoothly upscaled: shows
    whether a decoded copy kept its orientation."""
    small = np.array(
        [[[220, 30, 30], [30, 200, 30]], [[30, 30, 220], [235, 235, 235]]], dtype=np.uint8
    )
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def upscaled_photo(path: Path, long_side: int = 4000) -> bytes:
    """A phone-photo-sized JPEG of a dataset photo: scaled up (bicubic) to ``long_side`` on
    its longest side, 12 MP for a 4:3 photo, with mild sensor-like noise so it compresses
    like a photo."""
    rgb = load_rgb(path)
    scale = long_side / max(rgb.shape[:2])
    width, height = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
    big = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    noise = np.random.default_rng(0).integers(-4, 5, (height // 4, width // 4), np.int16)
    big += cv2.resize(noise, (width, height), interpolation=cv2.INTER_NEAREST)[..., None]
    return encode(np.clip(big, 0, 255).astype(np.uint8), "JPEG", quality=90)


def resize_to_height(rgb: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(rgb.shape[1] * height / rgb.shape[0]))
    interpolation = cv2.INTER_AREA if height < rgb.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(rgb, (width, height), interpolation=interpolation)


def two_face_composite(first: np.ndarray, second: np.ndarray, height: int = 300) -> np.ndarray:
    """Two photos side by side at the same height, with a grey gap between them."""
    gap = np.full((height, height // 10, 3), 128, dtype=np.uint8)
    return np.hstack([resize_to_height(first, height), gap, resize_to_height(second, height)])


def gradient_image(width: int = 640, height: int = 480) -> np.ndarray:
    """A smooth colour gradient: structure-free, so no detector should find a face."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(x, (height, width))
    green = np.broadcast_to(y, (height, width))
    blue = (red + green) / 2
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def far_frr(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """False accept rate (impostors at or above) and false reject rate (genuine below)."""
    return evaluation.far_frr(evaluation.Scores(genuine, impostor), threshold)


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(EER, threshold) where FAR and FRR are closest, over every observed score."""
    return evaluation.equal_error_rate(evaluation.Scores(genuine, impostor))
