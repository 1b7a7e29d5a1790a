"""The mailed links through the JSON API: ask for a password reset, use it, verify the email
address, ask for a new verification link. The pages are in email_pages.py."""

from fastapi import APIRouter, Request, Response, status

from controller.deps import EmailLinksDep, PasswordPoolDep, client_address
from controller.schemas import (
    EmailIn,
    EmailVerifyIn,
    LinkRequestedOut,
    PasswordResetIn,
    PasswordResetOut,
)
from controller.steps import PAGE_FOR_STEP
from face_auth.constant import NEXT_LOGIN

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED)
def forgot_password(body: EmailIn, request: Request, links: EmailLinksDep) -> LinkRequestedOut:
    """Mail a reset link if an account uses this address. The answer is the same for any
    address; requests are counted per address and client like sign-in attempts (429
    `too_many_link_requests` with Retry-After)."""
    return LinkRequestedOut(
        message=links.request_password_reset(body.email, client_address(request))
    )


@router.post("/password/reset")
async def reset_password(
    body: PasswordResetIn, links: EmailLinksDep, passwords: PasswordPoolDep
) -> PasswordResetOut:
    """Use a reset link's token (once): the new password must pass the password rules (422,
    the link stays usable). Every session of the account ends, with its OpenID Connect
    tokens; sign in with the new password, then the face. 400 `invalid_link` for an unknown,
    used or expired token."""
    ended = await passwords.run(
        links.reset_password, body.token, body.new_password, body.new_password_confirm
    )
    return PasswordResetOut(
        sessions_ended=ended, next=NEXT_LOGIN, redirect=PAGE_FOR_STEP[NEXT_LOGIN]
    )


@router.post("/email/verify", status_code=status.HTTP_204_NO_CONTENT)
def verify_email(body: EmailVerifyIn, links: EmailLinksDep) -> Response:
    """Use a verification link's token (once): the account may sign in. 400 `invalid_link`
    for an unknown, used or expired token."""
    links.verify_email(body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/email/verification", status_code=status.HTTP_202_ACCEPTED)
def resend_verification(body: EmailIn, request: Request, links: EmailLinksDep) -> LinkRequestedOut:
    """A new verification link for an account waiting for one; the same answer for any
    address, counted like a reset request."""
    return LinkRequestedOut(message=links.request_verification(body.email, client_address(request)))
