"""Property-based tests: the image decoder and the face-upload parsers answer any input with
their own clear refusal (or a result), never an unexpected exception."""

import base64
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from controller.uploads import decode_base64_image
from face_auth.exception import InvalidInput, PayloadTooLarge
from face_auth.face_pipeline import PipelineConfig
from face_auth.face_pipeline.decode import decode_image
from face_auth.face_pipeline.results import FrameRejected

pytestmark = pytest.mark.fuzz
CONFIG = PipelineConfig()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def encoded(image_format: str) -> bytes:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


VALID = {name: encoded(name) for name in ("JPEG", "PNG", "WEBP")}


def decode_or_refuse(data: bytes) -> None:
    try:
        rgb = decode_image(data, CONFIG)
    except FrameRejected:
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_decoded_or_refused(data: bytes) -> None:
    decode_or_refuse(data)


@FUZZ
@given(
    st.sampled_from(sorted(VALID)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=12),
    st.integers(0, 10_000),
)
def test_damaged_images_are_decoded_or_refused(
    image_format: str, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(VALID[image_format])
    for position, value in flips:
        data[position % len(data)] = value
    decode_or_refuse(bytes(data[: max(cut, 12)]))


@FUZZ
@given(st.one_of(st.text(max_size=300), st.integers(), st.none(), st.lists(st.text(max_size=5))))
def test_any_json_image_value_is_parsed_or_refused(value: object) -> None:
    try:
        data = decode_base64_image(value, max_frame_bytes=1024)
    except (InvalidInput, PayloadTooLarge):
        return
    assert isinstance(data, bytes) and len(data) <= 1024


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["data:image/jpeg;base64,", "data:,", ""]))
def test_data_urls_round_trip_or_are_refused(payload: bytes, prefix: str) -> None:
    text = prefix + base64.b64encode(payload).decode()
    try:
        data = decode_base64_image(text, max_frame_bytes=512)
    except (InvalidInput, PayloadTooLarge):
        assert prefix == "data:," or len(payload) > 512
        return
    assert data == payload
