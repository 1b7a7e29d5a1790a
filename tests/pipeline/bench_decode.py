"""Time decoding phone-sized photos: the working-copy decoder against decoding them whole.

"Whole" is what decode_image did before issue 12 (once its pixel cap let the photo in):
``Image.open`` + ``exif_transpose`` + ``convert("RGB")`` at full resolution. Run from the
repository root:

    python -m tests.pipeline.bench_decode
"""

import io
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageOps

from face_auth.face_pipeline import PipelineConfig, decode_image
from tests.pipeline.helpers import encode

REPEAT = 7
# Byte limit lifted: the generated photos are measured, not the upload limit.
CONFIG = PipelineConfig(max_bytes=1 << 30)


def camera_like(width: int, height: int) -> np.ndarray:
    """Smooth shapes plus per-pixel noise, so the JPEG is as large as a real photo's."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (height // 200, width // 200, 3), dtype=np.uint8)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.integers(-6, 7, (height, width, 1), dtype=np.int16)
    return np.clip(smooth.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def decode_whole(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def median_ms(function: Callable[[], object]) -> float:
    function()
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 1)


def main() -> None:
    print("| photo | bytes | decoded whole | working copy (shape) |")
    print("| --- | --- | --- | --- |")
    for label, (width, height), options in [
        ("12 MP JPEG", (4000, 3000), {"quality": 90}),
        ("48 MP JPEG", (8000, 6000), {"quality": 90}),
        ("48 MP progressive JPEG", (8000, 6000), {"quality": 90, "progressive": True}),
    ]:
        data = encode(camera_like(width, height), "JPEG", **options)
        whole = median_ms(lambda data=data: decode_whole(data))
        working = median_ms(lambda data=data: decode_image(data, CONFIG))
        shape = decode_image(data, CONFIG).shape
        print(f"| {label} | {len(data) / 1e6:.1f} MB | {whole} ms | {working} ms {shape} |")


if __name__ == "__main__":
    main()
