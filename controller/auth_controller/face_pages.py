"""The face step's pages: enroll, verify, recovery codes, deleting one's face data. Their
JSON twins are in face_api.py."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.deps import ClaimsDep, FacesDep
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val.face import VIA_FIRST_ENROLLMENT
from face_auth.constant import NEXT_ENROLL_FACE, NEXT_ENROLLMENT_CODE
from face_auth.exception import InvalidCode

router = APIRouter(tags=["pages"])


def face_page(request: Request, mode: str, faces: FacesDep, **extra: object) -> Response:
    policy = faces.policy
    required = policy.enroll_min_frames if mode == "enroll" else policy.verify_min_frames
    context = {"mode": mode, "frames": policy.frames, "required": required, **extra}
    return render(request, "face.html", context)


@router.get("/application/face/enroll")
def face_enroll_page(request: Request, faces: FacesDep, claims: ClaimsDep) -> Response:
    """Enrollment, if this session may (otherwise the error handler sends it to the verify
    page or the code page). A first enrollment on the password alone says until when."""
    via = faces.admit_enroll(claims)
    face = faces.status(claims)
    window_closes = face.first_enrollment_until if via == VIA_FIRST_ENROLLMENT else None
    return face_page(request, "enroll", faces, first_enrollment_until=window_closes)


@router.get("/application/face/verify")
def face_verify_page(request: Request, faces: FacesDep, claims: ClaimsDep) -> Response:
    face = faces.status(claims)
    if not face.has_template:
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)
    if not face.template_current:
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLLMENT_CODE], status_code=303)
    return face_page(request, "verify", faces, held_until=face.held_until)


@router.get("/application/face/recover")
def face_recover_page(request: Request, faces: FacesDep, claims: ClaimsDep) -> Response:
    if claims.is_full:
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)
    face = faces.status(claims)
    return render(request, "recover.html", {"template_current": face.template_current,
                                            "has_template": face.has_template})  # fmt: skip


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
        face = faces.status(claims)
        context = {"message": error.message, "template_current": face.template_current,
                   "has_template": face.has_template}  # fmt: skip
        return render(request, "recover.html", context, status_code=401)
    return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)


@router.post("/application/face/recovery-codes")
def face_recovery_codes(request: Request, faces: FacesDep, claims: ClaimsDep) -> Response:
    """A new set of recovery codes, shown on this page once."""
    codes = faces.regenerate_codes(claims)
    return render(request, "recovery_codes.html", {"codes": codes})


@router.post("/application/face/delete")
def face_delete(faces: FacesDep, claims: ClaimsDep) -> Response:
    faces.delete(claims)
    return RedirectResponse("/application/?face_deleted=1", status_code=303)
