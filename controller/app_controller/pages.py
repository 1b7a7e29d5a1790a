from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from controller.auth_controller.identify_api import consent_for_page
from controller.cookies import CookiesDep
from controller.deps import (
    AccountsDep,
    ClaimsDep,
    FacesDep,
    OptionalClaimsDep,
    PasswordPoolDep,
    PersonalDataDep,
    SettingsDep,
    client_address,
)
from controller.oidc import applications_of, resume_authorization
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val.oidc.rules import OFFLINE_ACCESS
from face_auth.exception import InvalidInput

router = APIRouter(tags=["pages"])

FAVICON = Path(__file__).resolve().parents[2] / "static" / "favicon.ico"
# What the account page calls each scope an application receives (the consent page says it in
# full: SCOPE_DESCRIPTIONS).
SCOPE_LABELS = {
    "openid": "your sign-in",
    "profile": "your name and username",
    "email": "your email address",
    OFFLINE_ACCESS: "access while you are signed out",
}


def with_scope_labels(applications: list[dict[str, object]]) -> list[dict[str, object]]:
    shaped = []
    for app in applications:
        scopes = app["scopes"]
        assert isinstance(scopes, list)
        labels = [SCOPE_LABELS.get(name, name) for name in scopes]
        shaped.append({**app, "scope_labels": labels})
    return shaped


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """For browsers that ask for it before (or without) reading the page's icon link."""
    return FileResponse(FAVICON, media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


@router.get("/")
def home(
    request: Request,
    accounts: AccountsDep,
    faces: FacesDep,
    settings: SettingsDep,
    claims: OptionalClaimsDep,
) -> Response:
    next_page = PAGE_FOR_STEP[accounts.next_step(claims)] if claims else None
    context = {
        "next_page": next_page,
        "signed_in": claims is not None and claims.is_full,
        "frames": faces.policy.max_frames,
        "liveness": settings.liveness,
    }
    return render(request, "home.html", context)


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
    resumed = resume_authorization(request, cookies)
    if resumed is not None:
        return resumed
    user = accounts.current_user(claims)
    face = faces.status(claims)
    context = {
        "user": user,
        "expires_at": claims.exp,
        "has_face": face.has_template,
        "recovery_codes_left": face.recovery_codes_left,
        "face_deleted": face_deleted,
        "password_changed": password_changed,
        "applications": with_scope_labels(applications_of(request, claims)),
        "signed_in": True,
        "application_revoked": application_revoked,
        "identify": consent_for_page(request, claims),
    }
    return render(request, "application.html", context)


@router.get("/application")
def application_without_slash() -> Response:
    return RedirectResponse("/application/", status_code=307)


@router.get("/application/account/delete")
def account_delete_page(request: Request, accounts: AccountsDep, claims: ClaimsDep) -> Response:
    accounts.require_recent_auth(claims)
    return render(request, "delete_account.html", {"errors": {}, "signed_in": True})


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
        context = {"errors": error.fields, "message": error.message, "signed_in": True}
        return render(request, "delete_account.html", context, status_code=422)
    response = render(request, "delete_account.html", {"deleted": True, "errors": {}})
    cookies.clear_access(response, request)
    return response
