"""Bytes to an RGB array, refusing anything but bounded, intact JPEG/PNG/WebP images."""

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from face_auth.face_pipeline.config import PipelineConfig
from face_auth.face_pipeline.results import FrameRejected, ReasonCode

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
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


def decode_image(data: bytes, config: PipelineConfig) -> np.ndarray:
    """Decode to an (H, W, 3) uint8 RGB array, upright per EXIF; raise FrameRejected.

    The byte and pixel limits are checked before the pixels are decoded: Pillow reads only
    the header in ``Image.open``.
    """
    if len(data) > config.max_bytes:
        raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, f"{len(data)} bytes")
    expected_format = sniff_format(data)
    if expected_format is None:
        raise FrameRejected(ReasonCode.UNSUPPORTED_FORMAT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[expected_format]) as image:
                width, height = image.size
                if width * height > config.max_pixels:
                    raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, f"{width}x{height}")
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = upright.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise FrameRejected(ReasonCode.IMAGE_TOO_LARGE, str(error)) from error
    except _DECODE_ERRORS as error:
        raise FrameRejected(ReasonCode.CORRUPT_IMAGE, str(error)) from error
    if min(rgb.size) < 1:
        raise FrameRejected(ReasonCode.CORRUPT_IMAGE, "empty image")
    return np.asarray(rgb, dtype=np.uint8)
