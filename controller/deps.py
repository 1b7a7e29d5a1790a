"""FastAPI dependencies: everything a route needs comes in through these."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response

from controller.face_runner import BoundedRunner
from face_auth.business_val import AccountService, IssuedToken, ReadinessCheck, TokenService
from face_auth.business_val.face import FaceService
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE, CSRF_COOKIE, CSRF_FORM_FIELD, CSRF_HEADER
from face_auth.entity import SessionClaims
from face_auth.exception import CsrfFailed, InvalidToken, NotAuthenticated
from face_auth.utils import constant_time_equals, utc_now

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_accounts(request: Request) -> AccountService:
    return request.app.state.accounts


def get_tokens(request: Request) -> TokenService:
    return request.app.state.tokens


def get_readiness(request: Request) -> ReadinessCheck:
    return request.app.state.readiness


def get_faces(request: Request) -> FaceService:
    return request.app.state.faces


def get_face_runner(request: Request) -> BoundedRunner:
    return request.app.state.face_runner


def get_claims(
    request: Request, tokens: Annotated[TokenService, Depends(get_tokens)]
) -> SessionClaims:
    token = request.cookies.get(ACCESS_COOKIE)
    if not token:
        raise NotAuthenticated()
    return tokens.verify(token)


def get_optional_claims(
    request: Request, tokens: Annotated[TokenService, Depends(get_tokens)]
) -> SessionClaims | None:
    token = request.cookies.get(ACCESS_COOKIE)
    if not token:
        return None
    try:
        return tokens.verify(token)
    except InvalidToken:
        return None


async def verify_csrf(request: Request) -> None:
    """Double-submit check for every state-changing request: the csrf cookie must equal the
    X-CSRF-Token header or the csrf_token form field."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
        form = await request.form(max_files=32, max_fields=50)
        field = form.get(CSRF_FORM_FIELD)
        sent = field if isinstance(field, str) else None
    if not cookie or not sent or not constant_time_equals(cookie, sent):
        raise CsrfFailed()


def cookie_is_secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def set_access_cookie(
    response: Response, request: Request, settings: Settings, issued: IssuedToken
) -> None:
    now: datetime = utc_now()
    response.set_cookie(
        ACCESS_COOKIE,
        issued.token,
        max_age=max(int((issued.claims.exp - now).total_seconds()), 0),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, settings),
        path="/",
    )


def clear_access_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        ACCESS_COOKIE,
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, settings),
        path="/",
    )


SettingsDep = Annotated[Settings, Depends(get_settings)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]
ClaimsDep = Annotated[SessionClaims, Depends(get_claims)]
OptionalClaimsDep = Annotated[SessionClaims | None, Depends(get_optional_claims)]
FacesDep = Annotated[FaceService, Depends(get_faces)]
FaceRunnerDep = Annotated[BoundedRunner, Depends(get_face_runner)]
