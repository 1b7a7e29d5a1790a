"""FastAPI dependencies: everything a route needs comes in through these."""

from typing import Annotated

from fastapi import Depends, Request

from controller.face_runner import BoundedRunner
from controller.worker_pool import WorkerPool
from face_auth.business_val import AccountService, ReadinessCheck, TokenService
from face_auth.business_val.accounts.email_links import EmailLinks
from face_auth.business_val.accounts.personal_data import PersonalDataService
from face_auth.business_val.face.service import FaceService
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from face_auth.entity import SessionClaims
from face_auth.exception import InvalidToken, NotAuthenticated


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_accounts(request: Request) -> AccountService:
    return request.app.state.accounts


def get_email_links(request: Request) -> EmailLinks:
    return request.app.state.email_links


def get_tokens(request: Request) -> TokenService:
    return request.app.state.tokens


async def get_readiness(request: Request) -> ReadinessCheck:
    """Async: /healthz must answer from the event loop, never queue for a worker thread."""
    return request.app.state.readiness


def get_faces(request: Request) -> FaceService:
    return request.app.state.faces


def get_personal_data(request: Request) -> PersonalDataService:
    return request.app.state.personal_data


def get_face_runner(request: Request) -> BoundedRunner:
    return request.app.state.face_runner


def get_password_pool(request: Request) -> WorkerPool:
    return request.app.state.password_pool


def client_address(request: Request) -> str | None:
    """The peer's address (uvicorn puts the proxy's X-Forwarded-For here when it trusts it)."""
    return request.client.host if request.client else None


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


SettingsDep = Annotated[Settings, Depends(get_settings)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]
EmailLinksDep = Annotated[EmailLinks, Depends(get_email_links)]
ClaimsDep = Annotated[SessionClaims, Depends(get_claims)]
OptionalClaimsDep = Annotated[SessionClaims | None, Depends(get_optional_claims)]
FacesDep = Annotated[FaceService, Depends(get_faces)]
PersonalDataDep = Annotated[PersonalDataService, Depends(get_personal_data)]
FaceRunnerDep = Annotated[BoundedRunner, Depends(get_face_runner)]
PasswordPoolDep = Annotated[WorkerPool, Depends(get_password_pool)]
