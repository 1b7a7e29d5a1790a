import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from face_auth.face_pipeline import FrameRejected, PipelineConfig, ReasonCode, decode_image
from face_auth.face_pipeline.decode import sniff_format, working_size
from tests.pipeline.helpers import encode, jpeg_declaring, quadrants

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
    # Headers with no real pixel data behind them: decoding would fail as corrupt, so
    # IMAGE_TOO_LARGE proves the size was checked before any decoding.
    assert rejection_code(jpeg_declaring(12_000, 10_000)) == ReasonCode.IMAGE_TOO_LARGE
    assert rejection_code(png_header_only(6000, 5000)) == ReasonCode.IMAGE_TOO_LARGE
    assert rejection_code(png_header_only(3000, 3000)) == ReasonCode.CORRUPT_IMAGE


def test_a_tiny_jpeg_declaring_48_megapixels_costs_only_its_working_size() -> None:
    # libjpeg fills the missing data with grey; decoded at 1/4 scale, it stays cheap.
    started = time.perf_counter()
    assert decode_image(jpeg_declaring(8000, 6000), CONFIG).shape == (1200, 1600, 3)
    assert time.perf_counter() - started < 1.0


def test_decompression_bombs_are_refused_fast() -> None:
    bombs = [
        jpeg_declaring(12_000, 10_000),  # 120 MP: over max_pixels, under Pillow's own limit
        jpeg_declaring(65_000, 65_000),  # 4.2 GP: Pillow's DecompressionBombError
        png_header_only(100_000, 100_000),
    ]
    for bomb in bombs:
        started = time.perf_counter()
        assert rejection_code(bomb) == ReasonCode.IMAGE_TOO_LARGE
        assert time.perf_counter() - started < 0.5


def test_pixel_limit_is_inclusive() -> None:
    data = encode(red_square(50), "PNG")
    assert rejection_code(data, PipelineConfig(max_pixels=2499)) == ReasonCode.IMAGE_TOO_LARGE
    assert decode_image(data, PipelineConfig(max_pixels=2500)).shape == (50, 50, 3)
    whole = PipelineConfig(max_full_decode_pixels=2499)
    assert rejection_code(data, whole) == ReasonCode.IMAGE_TOO_LARGE


@pytest.fixture(scope="module")
def photo_48mp() -> bytes:
    """A 48 MP (8000 x 6000) JPEG, the size of a phone's full-resolution photo."""
    return encode(quadrants(8000, 6000), "JPEG", quality=90)


def test_48_megapixel_jpeg_is_decoded_to_the_working_size(photo_48mp: bytes) -> None:
    started = time.perf_counter()
    rgb = decode_image(photo_48mp, CONFIG)
    elapsed = time.perf_counter() - started
    assert rgb.shape == (1200, 1600, 3)
    # The colours stay where they were: red top left, green top right, blue bottom left.
    assert rgb[300, 400].tolist() == pytest.approx([220, 30, 30], abs=8)
    assert rgb[300, 1200].tolist() == pytest.approx([30, 200, 30], abs=8)
    assert rgb[900, 400].tolist() == pytest.approx([30, 30, 220], abs=8)
    # ~0.1 s on 2 cores (docs/accuracy.md); decoding it whole took ~0.55 s.
    assert elapsed < 2.0


def test_48_megapixel_png_is_refused_but_a_smaller_one_is_shrunk() -> None:
    assert rejection_code(png_header_only(8000, 6000)) == ReasonCode.IMAGE_TOO_LARGE
    wide = encode(quadrants(2400, 1000), "PNG")
    rgb = decode_image(wide, CONFIG)
    assert rgb.shape == (667, 1600, 3)
    assert rgb[150, 1300].tolist() == [30, 200, 30]


def test_large_jpeg_with_exif_rotation_is_upright_and_shrunk() -> None:
    stored = Image.fromarray(quadrants(4000, 3000))
    exif = Image.Exif()
    exif[0x0112] = 6  # display after a 90 degree clockwise turn
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=90, exif=exif)
    rgb = decode_image(buffer.getvalue(), CONFIG)
    assert rgb.shape == (1600, 1200, 3)
    # Turned clockwise, the stored bottom-left (blue) quadrant is now top left.
    assert rgb[300, 300].tolist() == pytest.approx([30, 30, 220], abs=8)


def test_small_frames_are_left_at_their_size() -> None:
    frame = encode(quadrants(640, 480), "JPEG", quality=95)
    assert decode_image(frame, CONFIG).shape == (480, 640, 3)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((8000, 6000), (1600, 1200)), ((3000, 4000), (1200, 1600)), ((640, 480), (640, 480)),
     ((1601, 10), (1600, 10)), ((10_000, 1), (1600, 1))],
)  # fmt: skip
def test_working_size_bounds_the_longest_side(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert working_size(*size, 1600) == expected


def test_sniff_format() -> None:
    assert sniff_format(encode(red_square(), "JPEG")) == "JPEG"
    assert sniff_format(encode(red_square(), "PNG")) == "PNG"
    assert sniff_format(encode(red_square(), "WEBP")) == "WEBP"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert sniff_format(encode(red_square(), "GIF")) is None
