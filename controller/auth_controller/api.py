from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from controller.deps import (
    AccountsDep,
    ClaimsDep,
    SettingsDep,
    clear_access_cookie,
    set_access_cookie,
)
from face_auth.business_val import RegistrationRequest
from face_auth.entity import User

router = APIRouter(prefix="/api/v1", tags=["auth"])


class RegistrationIn(BaseModel):
    name: str = Field(max_length=1000)
    username: str = Field(max_length=1000)
    email: str = Field(max_length=1000)
    phone: str = Field(max_length=1000)
    password: str = Field(max_length=1000)
    password_confirm: str = Field(max_length=1000)


class LoginIn(BaseModel):
    email: str = Field(max_length=1000)
    password: str = Field(max_length=1000)


class UserOut(BaseModel):
    id: str
    name: str
    username: str
    email: str
    phone: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(**user.model_dump(exclude={"password_hash"}))


class SessionOut(BaseModel):
    next: str
    factors: list[str]
    expires_at: datetime


class MeOut(BaseModel):
    user: UserOut
    factors: list[str]
    has_face_template: bool
    next: str
    session_expires_at: datetime


class CsrfOut(BaseModel):
    csrf_token: str


@router.get("/csrf")
def csrf_token(request: Request) -> CsrfOut:
    """The token to echo in X-CSRF-Token; the response also sets the matching cookie."""
    return CsrfOut(csrf_token=request.state.csrf_token)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: RegistrationIn, accounts: AccountsDep) -> UserOut:
    return UserOut.of(accounts.register(RegistrationRequest(**body.model_dump())))


@router.post("/sessions")
def create_session(
    body: LoginIn,
    request: Request,
    response: Response,
    accounts: AccountsDep,
    settings: SettingsDep,
) -> SessionOut:
    result = accounts.login(body.email, body.password)
    set_access_cookie(response, request, settings, result.issued)
    claims = result.issued.claims
    return SessionOut(next=result.next_step, factors=list(claims.amr), expires_at=claims.exp)


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(
    request: Request, accounts: AccountsDep, settings: SettingsDep, claims: ClaimsDep
) -> Response:
    accounts.logout(claims)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_access_cookie(response, request, settings)
    return response


@router.get("/me")
def me(accounts: AccountsDep, claims: ClaimsDep) -> MeOut:
    user = accounts.current_user(claims)
    return MeOut(
        user=UserOut.of(user),
        factors=list(claims.amr),
        has_face_template=accounts.has_face_template(user.id),
        next=accounts.next_step(claims),
        session_expires_at=claims.exp,
    )
