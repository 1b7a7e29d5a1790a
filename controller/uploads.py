"""Reading camera frames from a request: multipart parts named `frames`, or JSON
`{"images": ["data:image/jpeg;base64,...", ...]}` (the seed's form)."""

import base64
import binascii
import json

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from face_auth.exception import InvalidInput, PayloadTooLarge, UnsupportedMediaType

BASE64_GROWTH = 4 / 3
JSON_SLACK_BYTES = 64 * 1024


async def read_frames(request: Request, max_frames: int, max_frame_bytes: int) -> list[bytes]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _read_multipart(request, max_frames, max_frame_bytes)
    if content_type.startswith("application/json"):
        return await _read_json(request, max_frames, max_frame_bytes)
    raise UnsupportedMediaType()


def _too_large(max_frame_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Each frame may be at most {max_frame_bytes // 1024} KiB.")


async def _read_multipart(request: Request, max_frames: int, max_frame_bytes: int) -> list[bytes]:
    try:
        form = await request.form(max_files=max_frames, max_fields=10)
    except (MultiPartException, HTTPException) as error:  # starlette wraps the former
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
    return frames


async def _read_json(request: Request, max_frames: int, max_frame_bytes: int) -> list[bytes]:
    limit = int(max_frames * max_frame_bytes * BASE64_GROWTH) + JSON_SLACK_BYTES
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge()
    try:
        images = json.loads(body)["images"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput({"images": "Send a JSON object with an 'images' list."}) from error
    if not isinstance(images, list) or len(images) > max_frames:
        raise InvalidInput({"images": f"Send a list of at most {max_frames} images."})
    frames = []
    for image in images:
        if not isinstance(image, str):
            raise InvalidInput({"images": "Each image must be a base64 string or data URL."})
        encoded = image.split(",", 1)[1] if image.startswith("data:") else image
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidInput({"images": "An image is not valid base64."}) from error
        if len(data) > max_frame_bytes:
            raise _too_large(max_frame_bytes)
        frames.append(data)
    return frames
