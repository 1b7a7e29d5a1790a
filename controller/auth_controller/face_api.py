from collections.abc import Callable

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from controller.deps import ClaimsDep, FaceRunnerDep, FacesDep, SettingsDep, set_access_cookie
from controller.face_runner import BoundedRunner
from controller.steps import PAGE_FOR_STEP
from controller.uploads import read_frames
from face_auth.business_val.face import FaceDecision
from face_auth.config import Settings
from face_auth.constant import NEXT_APPLICATION
from face_auth.entity import SessionClaims

router = APIRouter(prefix="/api/v1/face", tags=["face"])

FRAMES_DOC = (
    "multipart/form-data with up to 8 image parts named `frames` (JPEG, PNG or WebP), or JSON "
    '`{"images": ["data:image/jpeg;base64,...", ...]}`.'
)


def decision_response(
    decision: FaceDecision, request: Request, settings: SettingsDep
) -> JSONResponse:
    body = {
        **decision.as_dict(),
        "next": NEXT_APPLICATION,
        "redirect": PAGE_FOR_STEP[NEXT_APPLICATION],
    }
    response = JSONResponse(body)
    if decision.issued is not None:
        set_access_cookie(response, request, settings, decision.issued)
    return response


async def run_face_step(
    step: Callable[[SessionClaims, list[bytes]], FaceDecision],
    max_frames: int,
    request: Request,
    claims: SessionClaims,
    runner: BoundedRunner,
    settings: Settings,
) -> JSONResponse:
    """Read the frames, run `step` (enroll or verify) in the worker pool, answer."""
    frames = await read_frames(request, max_frames, settings.face_max_frame_bytes)
    decision = await runner.run(step, claims, frames)
    return decision_response(decision, request, settings)


@router.post("/enroll", description=FRAMES_DOC)
async def enroll(
    request: Request,
    claims: ClaimsDep,
    faces: FacesDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> JSONResponse:
    return await run_face_step(faces.enroll, faces.policy.frames, request, claims, runner, settings)


@router.post("/verify", description=FRAMES_DOC)
async def verify(
    request: Request,
    claims: ClaimsDep,
    faces: FacesDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> JSONResponse:
    return await run_face_step(faces.verify, faces.policy.frames, request, claims, runner, settings)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def delete_face(claims: ClaimsDep, faces: FacesDep) -> Response:
    """Delete the user's biometric data (template and per-frame embeddings)."""
    faces.delete(claims)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
