from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.cookies import CookiesDep
from controller.deps import (
    AccountsDep,
    ClaimsDep,
    FacesDep,
    OptionalClaimsDep,
    PasswordPoolDep,
    PersonalDataDep,
    client_address,
)
from controller.oidc import applications_of
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val.face import VIA_FIRST_ENROLLMENT
from face_auth.business_val.oidc import safe_return_to
from face_auth.constant import NEXT_ENROLL_FACE, NEXT_ENROLLMENT_CODE
from face_auth.exception import InvalidCode, InvalidInput

router = APIRouter(tags=["pages"])


@router.get("/")
def home(request: Request, accounts: AccountsDep, claims: OptionalClaimsDep) -> Response:
    next_page = PAGE_FOR_STEP[accounts.next_step(claims)] if claims else None
    return render(request, "home.html", {"next_page": next_page})


@router.get("/application/")
def application(
    request: Request,
    accounts: AccountsDep,
    faces: FacesDep,
    claims: ClaimsDep,
    cookies: CookiesDep,
    face_deleted: bool = False,
    password_changed: bool = False,
    application_revoked: bool = False,
) -> Response:
    accounts.require_full_session(claims)
    # A sign-in started by an application (OpenID Connect) continues to its request.
    return_to = safe_return_to(cookies.read_return_to(request))
    if return_to:
        redirect = RedirectResponse(return_to, status_code=303)
        cookies.clear_return_to(redirect, request)
        return redirect
    user = accounts.current_user(claims)
    face = faces.status(claims)
    context = {
        "user": user,
        "expires_at": claims.exp,
        "has_face": face.has_template,
        "recovery_codes_left": face.recovery_codes_left,
        "face_deleted": face_deleted,
        "password_changed": password_changed,
        "applications": applications_of(request, claims),
        "application_revoked": application_revoked,
    }
    return render(request, "application.html", context)


@router.get("/application")
def application_without_slash() -> Response:
    return RedirectResponse("/application/", status_code=307)


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


@router.get("/application/account/delete")
def account_delete_page(request: Request, accounts: AccountsDep, claims: ClaimsDep) -> Response:
    accounts.require_full_session(claims)
    return render(request, "delete_account.html", {"errors": {}})


@router.post("/application/account/delete")
async def account_delete_submit(
    request: Request,
    personal_data: PersonalDataDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
    claims: ClaimsDep,
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        await passwords.run(personal_data.delete_account, claims, password, client_address(request))
    except InvalidInput as error:
        context = {"errors": error.fields, "message": error.message}
        return render(request, "delete_account.html", context, status_code=422)
    response = render(request, "delete_account.html", {"deleted": True, "errors": {}})
    cookies.clear_access(response, request)
    return response
