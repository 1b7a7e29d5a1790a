"""The face step's pages: enroll, verify, recovery codes, deleting one's face data. Their
JSON twins are in face_api.py."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.deps import ClaimsDep, FacesDep, SettingsDep
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val.face.liveness import (
    CAPTURE_INTERVAL_MS,
    INSTRUCTIONS,
    LivenessMode,
    parse_actions,
)
from face_auth.business_val.face.service import VIA_FIRST_ENROLLMENT, FaceStatus
from face_auth.config import Settings
from face_auth.constant import NEXT_ENROLL_FACE, NEXT_ENROLLMENT_CODE
from face_auth.entity import SessionClaims
from face_auth.exception import InvalidCode
from face_auth.utils import utc_now

router = APIRouter(tags=["pages"])


def seconds_until(moment: datetime | None) -> int:
    """Whole seconds from now until a datetime (0 if past or None): the page counts down from
    this, so the browser's clock does not matter."""
    if moment is None:
        return 0
    remaining = (moment - utc_now()).total_seconds()
    return max(0, int(remaining + 0.999))


def challenge_context(settings: Settings) -> dict[str, object]:
    """What the page says before Start: the liveness mode and, when every challenge asks for
    the same movement, that movement (otherwise the page names it once the server picks)."""
    mode = LivenessMode(settings.liveness)
    actions = parse_actions(settings.liveness_actions) if mode is LivenessMode.CHALLENGE else ()
    only = actions[0] if len(actions) == 1 else None
    return {
        "liveness": str(mode),
        "action": str(only) if only else None,
        "instruction": INSTRUCTIONS[only] if only else None,
    }


def face_page(
    request: Request,
    mode: str,
    faces: FacesDep,
    settings: Settings,
    claims: SessionClaims,
    face: FaceStatus,
    **extra: object,
) -> Response:
    policy = faces.policy
    required = policy.enroll_min_frames if mode == "enroll" else policy.verify_min_frames
    # The pictures the page takes: the challenge's capture (more than are embedded, some are
    # turned away) or, without a challenge, the frames that are embedded.
    frames = policy.max_frames
    context = {
        "mode": mode,
        "frames": frames,
        "required": required,
        "capture_seconds": round(frames * CAPTURE_INTERVAL_MS / 1000),
        "signed_in": claims.is_full,
        "attempts_left": face.attempts_left,
        "max_attempts": policy.max_failures,
        "held_for": seconds_until(face.held_until),
        "returning_to_app": bool(request.app.state.cookies.read_return_to(request)),
        **challenge_context(settings),
        **extra,
    }
    return render(request, "face.html", context)


@router.get("/application/face/enroll")
def face_enroll_page(
    request: Request, faces: FacesDep, settings: SettingsDep, claims: ClaimsDep
) -> Response:
    """Enrollment, if this session may (otherwise the error handler sends it to the verify
    page or the code page). A first enrollment on the password alone says until when."""
    via = faces.admit_enroll(claims)
    face = faces.status(claims)
    window_closes = face.first_enrollment_until if via == VIA_FIRST_ENROLLMENT else None
    return face_page(request, "enroll", faces, settings, claims, face,
                     first_enrollment_until=window_closes)  # fmt: skip


@router.get("/application/face/verify")
def face_verify_page(
    request: Request, faces: FacesDep, settings: SettingsDep, claims: ClaimsDep
) -> Response:
    face = faces.status(claims)
    if not face.has_template:
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)
    if not face.template_current:
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLLMENT_CODE], status_code=303)
    return face_page(request, "verify", faces, settings, claims, face,
                     held_until=face.held_until)  # fmt: skip


def recover_page(
    request: Request, face: FaceStatus, message: str | None = None, status_code: int = 200
) -> Response:
    context = {"template_current": face.template_current, "has_template": face.has_template,
               "attempts_left": face.attempts_left, "message": message}  # fmt: skip
    return render(request, "recover.html", context, status_code=status_code)


@router.get("/application/face/recover")
def face_recover_page(request: Request, faces: FacesDep, claims: ClaimsDep) -> Response:
    if claims.is_full:
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)
    return recover_page(request, faces.status(claims))


@router.post("/application/face/recover")
def face_recover_submit(
    request: Request,
    faces: FacesDep,
    claims: ClaimsDep,
    code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        faces.redeem_code(claims, code)
    except InvalidCode as error:
        return recover_page(request, faces.status(claims), error.message, status_code=401)
    return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)


@router.post("/application/face/recovery-codes")
def face_recovery_codes(request: Request, faces: FacesDep, claims: ClaimsDep) -> Response:
    """A new set of recovery codes, shown on this page once."""
    codes = faces.regenerate_codes(claims)
    return render(request, "recovery_codes.html", {"codes": codes, "signed_in": True})


@router.post("/application/face/delete")
def face_delete(faces: FacesDep, claims: ClaimsDep) -> Response:
    faces.delete(claims)
    return RedirectResponse("/application/?face_deleted=1", status_code=303)
