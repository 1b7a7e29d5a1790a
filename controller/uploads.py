"""Reading camera frames from a request: multipart parts named `frames`, or JSON
`{"images": ["data:image/jpeg;base64,...", ...]}` (the seed's form)."""

import base64
import binascii
import json
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from controller.body_limit import BASE64_GROWTH, BodyTooLarge
from face_auth.exception import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_NONCE_CHARS = 200


@dataclass(frozen=True)
class FaceUpload:
    frames: list[bytes]
    # The liveness challenge's nonce: the form field or JSON key `nonce`, when sent.
    nonce: str | None = None


async def read_face_upload(request: Request, max_frames: int, max_frame_bytes: int) -> FaceUpload:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _read_multipart(request, max_frames, max_frame_bytes)
    if content_type.startswith("application/json"):
        return await _read_json(request, max_frames, max_frame_bytes)
    raise UnsupportedMediaType()


def _nonce(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_NONCE_CHARS:
        raise InvalidInput({"nonce": "The nonce must be the string the challenge returned."})
    return value


def _too_large(max_frame_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Each frame may be at most {max_frame_bytes // 1024} KiB.")


async def _read_multipart(request: Request, max_frames: int, max_frame_bytes: int) -> FaceUpload:
    try:
        form = await request.form(max_files=max_frames, max_fields=10)
    except (MultiPartException, HTTPException) as error:  # starlette wraps the former
        if isinstance(error, BodyTooLarge):
            raise
        detail = error.message if isinstance(error, MultiPartException) else str(error.detail)
        message = f"Send at most {max_frames} frames as one well-formed multipart upload."
        raise InvalidInput({"frames": detail}, message) from error
    frames: list[bytes] = []
    for part in form.getlist("frames"):
        if not isinstance(part, UploadFile):
            raise InvalidInput({"frames": "Each 'frames' part must be an image file."})
        data = await part.read(max_frame_bytes + 1)
        if len(data) > max_frame_bytes:
            raise _too_large(max_frame_bytes)
        frames.append(data)
    return FaceUpload(frames, _nonce(form.get("nonce")))


async def _read_json(request: Request, max_frames: int, max_frame_bytes: int) -> FaceUpload:
    """The body's size is bounded by BodySizeLimit before it gets here."""
    body = await request.body()
    try:
        document = json.loads(body)
        images = document["images"]
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise InvalidInput({"images": "Send a JSON object with an 'images' list."}) from error
    if not isinstance(images, list) or len(images) > max_frames:
        raise InvalidInput({"images": f"Send a list of at most {max_frames} images."})
    frames = [decode_base64_image(image, max_frame_bytes) for image in images]
    return FaceUpload(frames, _nonce(document.get("nonce")))


def decode_base64_image(image: object, max_frame_bytes: int) -> bytes:
    """A base64 string, or a data URL (`data:image/jpeg;base64,...`)."""
    if not isinstance(image, str):
        raise InvalidInput({"images": "Each image must be a base64 string or data URL."})
    encoded = image
    if image.startswith("data:"):
        header, comma, encoded = image.partition(",")
        if not comma or not header.endswith(";base64"):
            raise InvalidInput({"images": "A data URL must look like data:image/jpeg;base64,..."})
    if len(encoded) > max_frame_bytes * BASE64_GROWTH + 4:
        raise _too_large(max_frame_bytes)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput({"images": "An image is not valid base64."}) from error
    if len(data) > max_frame_bytes:
        raise _too_large(max_frame_bytes)
    return data
