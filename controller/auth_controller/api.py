from fastapi import APIRouter, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from controller.cookies import CookiesDep
from controller.deps import (
    AccountsDep,
    ClaimsDep,
    EmailLinksDep,
    FacesDep,
    PasswordPoolDep,
    PersonalDataDep,
    client_address,
)
from controller.schemas import (
    AccountDeleteIn,
    CsrfOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    ReauthenticateIn,
    RegisteredOut,
    RegistrationIn,
    SessionOut,
    StepUpOut,
    UserOut,
    UserRefOut,
)
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val import RegistrationRequest

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/csrf")
def csrf_token(request: Request) -> CsrfOut:
    """The token to echo in X-CSRF-Token; the response also sets the matching cookie."""
    return CsrfOut(csrf_token=request.state.csrf_token)


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(
    body: RegistrationIn,
    request: Request,
    accounts: AccountsDep,
    links: EmailLinksDep,
    passwords: PasswordPoolDep,
) -> RegisteredOut:
    """With mail on, a link is mailed to the address and sign-in waits until it is opened."""
    registration = RegistrationRequest(**body.model_dump())
    user = await passwords.run(accounts.register, registration, client_address(request))
    required = links.registered(user)
    return RegisteredOut(**UserOut.of(user).model_dump(), email_verification_required=required)


@router.post("/sessions")
async def create_session(
    body: LoginIn,
    request: Request,
    response: Response,
    accounts: AccountsDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
) -> SessionOut:
    result = await passwords.run(accounts.login, body.email, body.password, client_address(request))
    cookies.set_access(response, request, result.issued)
    claims = result.issued.claims
    return SessionOut(next=result.next_step, factors=list(claims.amr), expires_at=claims.exp)


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(
    request: Request, accounts: AccountsDep, cookies: CookiesDep, claims: ClaimsDep
) -> Response:
    accounts.logout(claims)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.clear_access(response, request)
    return response


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    accounts: AccountsDep,
    passwords: PasswordPoolDep,
    claims: ClaimsDep,
) -> Response:
    """Needs both factors; every other session of the user ends."""
    await passwords.run(
        accounts.change_password,
        claims,
        body.current_password,
        body.new_password,
        body.new_password_confirm,
        client_address(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/sessions/reauthenticate")
async def reauthenticate(
    body: ReauthenticateIn,
    request: Request,
    response: Response,
    accounts: AccountsDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
    claims: ClaimsDep,
) -> StepUpOut:
    """The step-up a factor change asks for (`reauthentication_required`) once the sign-in is
    older than the recent-auth window: the password again; where the account has a face, the
    answer is a new password-only session and `next: verify_face`."""
    result = await passwords.run(
        accounts.reauthenticate, claims, body.password, client_address(request)
    )
    if result.issued is not None:
        cookies.set_access(response, request, result.issued)
    return StepUpOut(next=result.next_step, redirect=PAGE_FOR_STEP[result.next_step])


@router.post("/sessions/revoke-all", status_code=status.HTTP_204_NO_CONTENT)
def revoke_all_sessions(
    request: Request, accounts: AccountsDep, cookies: CookiesDep, claims: ClaimsDep
) -> Response:
    """Sign out everywhere: every session of the user ends, this one included."""
    accounts.sign_out_everywhere(claims)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.clear_access(response, request)
    return response


@router.get("/me")
def me(accounts: AccountsDep, faces: FacesDep, claims: ClaimsDep) -> MeOut:
    user = accounts.current_user(claims)
    face = faces.status(claims)
    return MeOut(
        user=UserOut.of(user) if claims.is_full else UserRefOut(id=user.id),
        factors=list(claims.amr),
        has_face_template=face.has_template,
        recovery_codes_left=face.recovery_codes_left,
        next=accounts.next_step(claims),
        session_expires_at=claims.exp,
    )


@router.get("/me/export")
def export_my_data(personal_data: PersonalDataDep, claims: ClaimsDep) -> JSONResponse:
    """Everything stored about you, as a JSON download (needs both factors). The face template
    is described (model, date, frames) but its numbers are not included (docs/security.md)."""
    exported = jsonable_encoder(personal_data.export(claims))
    headers = {"Content-Disposition": 'attachment; filename="face_auth-my-data.json"',
               "Cache-Control": "no-store"}  # fmt: skip
    return JSONResponse(exported, headers=headers)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_my_account(
    body: AccountDeleteIn,
    request: Request,
    personal_data: PersonalDataDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
    claims: ClaimsDep,
) -> Response:
    """Delete your account (both factors and the current password): every session ends; the
    face template, its data key, recovery codes and attempts are erased."""
    await passwords.run(
        personal_data.delete_account, claims, body.password, client_address(request)
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.clear_access(response, request)
    return response
