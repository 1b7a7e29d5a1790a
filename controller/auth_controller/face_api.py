from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from controller.auth_controller.face_pages import seconds_until
from controller.deps import ClaimsDep, FaceRunnerDep, FacesDep, SettingsDep
from controller.face_runner import BoundedRunner
from controller.schemas import CodeIn, CodeUsedOut, RecoveryCodesOut, face_decision_body
from controller.steps import PAGE_FOR_STEP
from controller.uploads import read_face_upload
from face_auth.business_val.face.service import FaceDecision, FaceService
from face_auth.config import Settings
from face_auth.constant import NEXT_APPLICATION, NEXT_ENROLL_FACE
from face_auth.entity import SessionClaims
from face_auth.exception import FaceRejected

router = APIRouter(prefix="/api/v1/face", tags=["face"])

FRAMES_DOC = (
    "multipart/form-data with up to 8 image parts named `frames` (JPEG, PNG or WebP), or JSON "
    '`{"images": ["data:image/jpeg;base64,...", ...]}`. With liveness challenges on (the '
    "default), up to 12 frames and the challenge's `nonce` (form field or JSON key) from "
    "`POST /api/v1/face/challenge`."
)
# The body as OpenAPI sees it (the route reads it itself, bounded, before parsing), so that
# /docs shows it and the schema fuzzer sends frames.
FRAMES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "frames": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                        "nonce": {"type": "string"},
                    },
                    "required": ["frames"],
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "images": {"type": "array", "items": {"type": "string"}, "maxItems": 16},
                        "nonce": {"type": "string"},
                    },
                    "required": ["images"],
                }
            },
        },
    }
}


def decision_response(decision: FaceDecision, request: Request) -> JSONResponse:
    body = {
        **face_decision_body(decision),
        "next": NEXT_APPLICATION,
        "redirect": PAGE_FOR_STEP[NEXT_APPLICATION],
    }
    response = JSONResponse(body)
    if decision.issued is not None:
        request.app.state.cookies.set_access(response, request, decision.issued)
    return response


async def run_face_step(
    admit: Callable[[SessionClaims], Any],
    step: Callable[[SessionClaims, list[bytes], str | None, Any], FaceDecision],
    request: Request,
    claims: SessionClaims,
    runner: BoundedRunner,
    settings: Settings,
    faces: FaceService,
) -> JSONResponse:
    """Admit the request (session, tries, hold, template, a place in the runner) before its
    upload is read; then read the frames and run `step` (enroll or verify) on a worker, with
    what the admission returned."""
    admitted = await run_in_threadpool(admit, claims)
    with runner.slot():
        upload = await read_face_upload(
            request, faces.policy.max_frames, settings.face_max_frame_bytes
        )
        try:
            decision = await runner.run(step, claims, upload.frames, upload.nonce, admitted)
        except FaceRejected as error:
            error.follow_up = await run_in_threadpool(tries_left, faces, claims)
            raise
    return decision_response(decision, request)


def tries_left(faces: FaceService, claims: SessionClaims) -> dict[str, object]:
    """What a refused capture adds to its result so a page can say what to do next: the
    session's face tries left and, if the account's face step is now held, for how long."""
    face = faces.status(claims)
    return {"attempts_left": face.attempts_left,
            "retry_after": seconds_until(face.held_until) or None}  # fmt: skip


@router.get("")
def face_status(claims: ClaimsDep, faces: FacesDep) -> dict[str, object]:
    """The face factor of the signed-in account: template, recovery codes left, whether the
    password alone may still enroll (and until when), a hold, this session's tries left."""
    return faces.status(claims).as_dict()


@router.post("/enroll", description=FRAMES_DOC, openapi_extra=FRAMES_BODY)
async def enroll(
    request: Request,
    claims: ClaimsDep,
    faces: FacesDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> JSONResponse:
    def enroll_step(
        claims: SessionClaims, frames: list[bytes], nonce: str | None, _via: str
    ) -> FaceDecision:
        return faces.enroll(claims, frames, nonce)  # which checks its access again

    return await run_face_step(
        faces.admit_enroll, enroll_step, request, claims, runner, settings, faces
    )


@router.post("/verify", description=FRAMES_DOC, openapi_extra=FRAMES_BODY)
async def verify(
    request: Request,
    claims: ClaimsDep,
    faces: FacesDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> JSONResponse:
    return await run_face_step(
        faces.admit_verify, faces.verify, request, claims, runner, settings, faces
    )


@router.post("/challenge")
def challenge(claims: ClaimsDep, faces: FacesDep) -> dict[str, object]:
    """A liveness challenge for the next enroll or verify of this session: `nonce` (single
    use, bound to this session, valid `expires_in` seconds), the `action` the frames must show
    (turn_left, turn_right, look_up, look_down; left and right are the person's own), an
    `instruction` to show, and how many `frames` to capture `interval_ms` apart. With
    liveness off or passive, `nonce` and `action` are null."""
    return faces.challenge(claims).as_dict()


@router.post("/recovery")
def use_code(body: CodeIn, claims: ClaimsDep, faces: FacesDep) -> CodeUsedOut:
    """Use a recovery code (or an administrator's enrollment code) after the password step:
    the session may then enroll a new face. The code is burnt."""
    faces.redeem_code(claims, body.code)
    return CodeUsedOut(
        next=NEXT_ENROLL_FACE,
        redirect=PAGE_FOR_STEP[NEXT_ENROLL_FACE],
        recovery_codes_left=faces.status(claims).recovery_codes_left,
    )


@router.post("/recovery-codes", status_code=status.HTTP_201_CREATED)
def regenerate_codes(claims: ClaimsDep, faces: FacesDep) -> RecoveryCodesOut:
    """A new set of recovery codes, shown this once; the old ones stop working. Needs a full
    session."""
    return RecoveryCodesOut(recovery_codes=faces.regenerate_codes(claims))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def delete_face(claims: ClaimsDep, faces: FacesDep) -> Response:
    """Delete the user's biometric data (template and per-frame embeddings)."""
    faces.delete(claims)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
