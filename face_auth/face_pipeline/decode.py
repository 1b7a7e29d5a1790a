"""Bytes to an RGB working copy, refusing anything but bounded, intact JPEG/PNG/WebP images.

Phone photos (12 to 50 MP) are welcome; decompression bombs are not. Three limits keep the
cost of a frame bounded before any pixel is decoded:

- the byte limit (``max_bytes``);
- the pixel count the header declares (``max_pixels``, 100 MP by default);
- JPEG is decoded by libjpeg straight at 1/2, 1/4 or 1/8 scale (``Image.draft``), so a 48 MP
  photo costs about what a 3 to 12 MP one does; PNG and WebP have no such reduced decode and
  are decoded whole, so they get the lower ``max_full_decode_pixels``.

The result is the working copy: upright per EXIF, longest side at most ``working_max_side``.
"""

import io
import math
import struct
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from face_auth.face_pipeline.config import PipelineConfig
from face_auth.face_pipeline.results import FrameRejected, ReasonCode

_WEBP_HEADER_BYTES = 12
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
)


def sniff_format(data: bytes) -> str | None:
    """Pillow format name from the magic bytes, or None when it is not an allowed format."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= _WEBP_HEADER_BYTES and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def working_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) scaled down so the longest side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def check_declared_size(image: Image.Image, config: PipelineConfig) -> None:
    """Refuse, from the header alone, an image too large to decode within bounded time."""
    width, height = image.size
    pixels = width * height
    if pixels > config.max_pixels:
        raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, f"{width}x{height}")
    if image.format != "JPEG" and pixels > config.max_full_decode_pixels:
        raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, f"{image.format} {width}x{height}")


def load_working_copy(image: Image.Image, max_side: int) -> np.ndarray:
    """Decode ``image`` to an upright (H, W, 3) uint8 RGB array, longest side <= max_side.

    For JPEG, ``draft`` asks libjpeg for the largest 1/2, 1/4 or 1/8 reduction that is still
    at least the working size, so the full-resolution pixels are never materialised.
    """
    target = working_size(*image.size, max_side)
    if image.format == "JPEG" and target != image.size:
        image.draft("RGB", target)
    upright = ImageOps.exif_transpose(image)  # loads the (reduced) pixels
    rgb = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    height, width = rgb.shape[:2]
    new_width, new_height = working_size(width, height, max_side)
    if (new_width, new_height) != (width, height):
        rgb = cv2.resize(rgb, (new_width, new_height), interpolation=cv2.INTER_AREA)
    return rgb


def decode_image(data: bytes, config: PipelineConfig) -> np.ndarray:
    """Decode to the (H, W, 3) uint8 RGB working copy, upright per EXIF; raise FrameRejected.

    The byte and pixel limits are checked before the pixels are decoded: Pillow reads only
    the header in ``Image.open``. Pillow's own bomb check stays as a backstop: its warning
    (above 89 MP) is silenced because ``max_pixels`` is the rule here, its error (above
    179 MP) still refuses the image.
    """
    if len(data) > config.max_bytes:
        raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, f"{len(data)} bytes")
    expected_format = sniff_format(data)
    if expected_format is None:
        raise FrameRejected(ReasonCode.UNSUPPORTED_FORMAT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[expected_format]) as image:
                check_declared_size(image, config)
                rgb = load_working_copy(image, config.working_max_side)
    except Image.DecompressionBombError as error:
        raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, str(error)) from error
    except _DECODE_ERRORS as error:
        raise FrameRejected(ReasonCode.CORRUPT_IMAGE, str(error)) from error
    if min(rgb.shape[:2]) < 1:
        raise FrameRejected(ReasonCode.CORRUPT_IMAGE, "empty image")
    return rgb
