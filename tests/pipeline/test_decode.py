import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from face_auth.face_pipeline import FrameRejected, PipelineConfig, ReasonCode, decode_image
from face_auth.face_pipeline.decode import sniff_format
from tests.pipeline.helpers import encode

CONFIG = PipelineConfig()


def red_square(size: int = 32) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[..., 0] = 200
    return image


def rejection_code(data: bytes, config: PipelineConfig = CONFIG) -> ReasonCode:
    with pytest.raises(FrameRejected) as caught:
        decode_image(data, config)
    return caught.value.code


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with (almost) no pixel data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("image_format", "options"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True})],
)
def test_allowed_formats_decode_to_rgb(image_format: str, options: dict[str, object]) -> None:
    rgb = decode_image(encode(red_square(), image_format, **options), CONFIG)
    assert rgb.shape == (32, 32, 3)
    assert rgb.dtype == np.uint8
    assert abs(int(rgb[..., 0].mean()) - 200) <= 3
    assert rgb[..., 1:].mean() < 5


def test_grey_and_rgba_png_become_three_channel_rgb() -> None:
    grey = Image.fromarray(np.full((10, 12), 90, dtype=np.uint8), mode="L")
    rgba = Image.fromarray(np.full((10, 12, 4), 90, dtype=np.uint8), mode="RGBA")
    for image in (grey, rgba):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        assert decode_image(buffer.getvalue(), CONFIG).shape == (10, 12, 3)


def test_exif_orientation_is_applied() -> None:
    image = Image.fromarray(np.zeros((20, 40, 3), dtype=np.uint8))  # 40 wide, 20 high
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display after a 90 degree clockwise turn
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue(), CONFIG).shape == (40, 20, 3)


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_unsupported(image_format: str) -> None:
    assert rejection_code(encode(red_square(), image_format)) == ReasonCode.UNSUPPORTED_FORMAT


def test_random_bytes_and_empty_input_are_unsupported() -> None:
    rng = np.random.default_rng(0)
    assert rejection_code(rng.bytes(2000)) == ReasonCode.UNSUPPORTED_FORMAT
    assert rejection_code(b"") == ReasonCode.UNSUPPORTED_FORMAT


def test_jpeg_magic_followed_by_garbage_is_corrupt() -> None:
    data = b"\xff\xd8\xff\xe0" + np.random.default_rng(1).bytes(4000)
    assert rejection_code(data) == ReasonCode.CORRUPT_IMAGE


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_truncated_images_are_corrupt(image_format: str) -> None:
    noise = np.random.default_rng(2).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    data = encode(noise, image_format)
    assert rejection_code(data[: len(data) // 2]) == ReasonCode.CORRUPT_IMAGE


def test_too_many_bytes_is_rejected_before_decoding() -> None:
    data = encode(red_square(64), "PNG")
    small = PipelineConfig(max_bytes=len(data) - 1)
    assert rejection_code(data, small) == ReasonCode.IMAGE_TOO_LARGE
    assert decode_image(data, PipelineConfig(max_bytes=len(data))).shape == (64, 64, 3)


def test_too_many_pixels_is_rejected_from_the_header() -> None:
    # 3000 x 3000 header with no real pixel data: decoding it would fail as corrupt, so
    # IMAGE_TOO_LARGE proves the size was checked before any decoding.
    assert rejection_code(png_header_only(3000, 3000)) == ReasonCode.IMAGE_TOO_LARGE
    assert rejection_code(png_header_only(64, 64)) == ReasonCode.CORRUPT_IMAGE


def test_decompression_bomb_header_is_too_large() -> None:
    assert rejection_code(png_header_only(100_000, 100_000)) == ReasonCode.IMAGE_TOO_LARGE


def test_pixel_limit_is_inclusive() -> None:
    data = encode(red_square(50), "PNG")
    assert rejection_code(data, PipelineConfig(max_pixels=2499)) == ReasonCode.IMAGE_TOO_LARGE
    assert decode_image(data, PipelineConfig(max_pixels=2500)).shape == (50, 50, 3)


def test_sniff_format() -> None:
    assert sniff_format(encode(red_square(), "JPEG")) == "JPEG"
    assert sniff_format(encode(red_square(), "PNG")) == "PNG"
    assert sniff_format(encode(red_square(), "WEBP")) == "WEBP"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert sniff_format(encode(red_square(), "GIF")) is None
