"""The pages of the mailed links: forgot password, the reset page a link opens, the email
verification landing page, and asking for a new verification link. Their JSON twins are in
email_api.py; the rules are in business_val/accounts/email_links.py."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from controller.cookies import CookiesDep
from controller.deps import EmailLinksDep, PasswordPoolDep, client_address
from controller.rendering import render
from face_auth.constant import RESET_PASSWORD_PATH, VERIFY_EMAIL_PATH
from face_auth.exception import InvalidInput, InvalidLink, TooManyLinkRequests

router = APIRouter(tags=["pages"])

FormText = Annotated[str, Form(max_length=1000)]
# A link's token is 43 characters; anything much longer is not one.
TokenQuery = Annotated[str, Query(max_length=200)]
TokenForm = Annotated[str, Form(max_length=200)]


def held(request: Request, template: str, email: str, error: TooManyLinkRequests) -> Response:
    context = {"values": {"email": email}, "message": error.message}
    response = render(request, template, context, status_code=429)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def link_request(
    request: Request, template: str, email: str, ask: Callable[[str, str | None], str]
) -> Response:
    """A form that asks for a mailed link: the service's notice, or the hold's message."""
    try:
        notice = ask(email, client_address(request))
    except TooManyLinkRequests as error:
        return held(request, template, email, error)
    return render(request, template, {"values": {}, "notice": notice})


@router.get("/auth/forgot-password")
def forgot_password_page(request: Request) -> Response:
    return render(request, "forgot_password.html", {"values": {}})


@router.post("/auth/forgot-password")
def forgot_password_submit(
    request: Request, links: EmailLinksDep, email: FormText = ""
) -> Response:
    """The same answer for every address, known or not (counted like a sign-in attempt)."""
    return link_request(request, "forgot_password.html", email, links.request_password_reset)


def invalid_link(request: Request, template: str) -> Response:
    context = {"link_invalid": True, "message": InvalidLink.message, "errors": {}}
    return render(request, template, context, status_code=400)


@router.get(RESET_PASSWORD_PATH)
def reset_password_page(request: Request, links: EmailLinksDep, token: TokenQuery = "") -> Response:
    """Where a reset link lands: asks for the new password (the link is used on submit)."""
    if not links.reset_link_usable(token):
        return invalid_link(request, "reset_password.html")
    return render(request, "reset_password.html", {"token": token, "errors": {}})


@router.post(RESET_PASSWORD_PATH)
async def reset_password_submit(
    request: Request,
    links: EmailLinksDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
    token: TokenForm = "",
    new_password: FormText = "",
    new_password_confirm: FormText = "",
) -> Response:
    try:
        await passwords.run(links.reset_password, token, new_password, new_password_confirm)
    except InvalidInput as error:
        context = {"token": token, "errors": error.fields, "message": error.message}
        return render(request, "reset_password.html", context, status_code=422)
    except InvalidLink:
        return invalid_link(request, "reset_password.html")
    response = RedirectResponse("/auth/login?password_reset=1", status_code=303)
    cookies.clear_access(response, request)  # its session has ended with all the others
    return response


@router.get(VERIFY_EMAIL_PATH)
def verify_email_page(request: Request, links: EmailLinksDep, token: TokenQuery = "") -> Response:
    """Where a verification link lands: one button confirms (a mail scanner that fetches the
    link uses nothing)."""
    if not links.verification_link_usable(token):
        return invalid_link(request, "verify_email.html")
    return render(request, "verify_email.html", {"token": token})


@router.post(VERIFY_EMAIL_PATH)
def verify_email_submit(request: Request, links: EmailLinksDep, token: TokenForm = "") -> Response:
    try:
        links.verify_email(token)
    except InvalidLink:
        return invalid_link(request, "verify_email.html")
    return RedirectResponse("/auth/login?email_verified=1", status_code=303)


@router.get("/auth/resend-verification")
def resend_verification_page(request: Request) -> Response:
    return render(request, "resend_verification.html", {"values": {}})


@router.post("/auth/resend-verification")
def resend_verification_submit(
    request: Request, links: EmailLinksDep, email: FormText = ""
) -> Response:
    """The same answer for every address (counted like a sign-in attempt)."""
    return link_request(request, "resend_verification.html", email, links.request_verification)
