from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from controller.deps import ClaimsDep, FaceRunnerDep, FacesDep, SettingsDep, set_access_cookie
from controller.steps import PAGE_FOR_STEP
from controller.uploads import read_frames
from face_auth.business_val.face import FaceDecision
from face_auth.constant import NEXT_APPLICATION

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


@router.post("/enroll", description=FRAMES_DOC)
async def enroll(
    request: Request,
    claims: ClaimsDep,
    faces: FacesDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> JSONResponse:
    frames = await read_frames(request, faces.policy.frames, settings.face_max_frame_bytes)
    decision = await runner.run(faces.enroll, claims, frames)
    return decision_response(decision, request, settings)


@router.post("/verify", description=FRAMES_DOC)
async def verify(
    request: Request,
    claims: ClaimsDep,
    faces: FacesDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> JSONResponse:
    frames = await read_frames(request, faces.policy.frames, settings.face_max_frame_bytes)
    decision = await runner.run(faces.verify, claims, frames)
    return decision_response(decision, request, settings)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def delete_face(claims: ClaimsDep, faces: FacesDep) -> Response:
    """Delete the user's biometric data (template and per-frame embeddings)."""
    faces.delete(claims)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
