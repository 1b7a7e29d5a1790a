from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from controller.cookies import CookiesDep
from controller.deps import (
    AccountsDep,
    ClaimsDep,
    EmailLinksDep,
    OptionalClaimsDep,
    PasswordPoolDep,
    client_address,
)
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val import RegistrationRequest
from face_auth.business_val.oidc.rules import MAX_RETURN_TO_CHARS, safe_return_to
from face_auth.exception import (
    AccountExists,
    AccountLocked,
    EmailNotVerified,
    InvalidCredentials,
    InvalidInput,
)

router = APIRouter(prefix="/auth", tags=["pages"])

# After the last face try (or recovery code) of a sign-in failed.
TRIES_SPENT_MESSAGE = (
    "That was the last face try of your sign-in, so it has ended to protect your account. "
    "Sign in with your password again to get new tries."
)

FormText = Annotated[str, Form(max_length=1000)]
ReturnToQuery = Annotated[str | None, Query(alias="next", max_length=MAX_RETURN_TO_CHARS)]
ReturnToForm = Annotated[str, Form(alias="next", max_length=MAX_RETURN_TO_CHARS)]


@router.get("/register")
def register_page(request: Request) -> Response:
    return render(request, "register.html", {"values": {}, "errors": {}})


@router.post("/register")
async def register_submit(
    request: Request,
    *,
    accounts: AccountsDep,
    links: EmailLinksDep,
    passwords: PasswordPoolDep,
    name: FormText = "",
    username: FormText = "",
    email: FormText = "",
    phone: FormText = "",
    password: FormText = "",
    password_confirm: FormText = "",
) -> Response:
    values = {"name": name, "username": username, "email": email, "phone": phone}
    try:
        user = await passwords.run(
            accounts.register,
            RegistrationRequest(**values, password=password, password_confirm=password_confirm),
            client_address(request),
        )
    except InvalidInput as error:
        context = {"values": values, "errors": error.fields, "message": error.message}
        return render(request, "register.html", context, status_code=422)
    except AccountExists as error:
        context = {"values": values, "errors": {}, "message": error.message}
        return render(request, "register.html", context, status_code=409)
    except AccountLocked as error:
        context = {"values": values, "errors": {}, "message": error.message}
        response = render(request, "register.html", context, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if links.registered(user):
        return RedirectResponse("/auth/login?verify_email=1", status_code=303)
    return RedirectResponse("/auth/login?registered=1", status_code=303)


@router.get("/login")
def login_page(
    request: Request,
    registered: bool = False,
    signed_out: bool = False,
    verify_email: bool = False,
    email_verified: bool = False,
    password_reset: bool = False,
    tries_spent: bool = False,
    next_page: ReturnToQuery = None,
) -> Response:
    notices = (
        (registered, "Account created. Sign in with your password."),
        (verify_email, "Account created. We have mailed you a link: open it to confirm your "
                       "email address, then sign in."),
        (email_verified, "Email address confirmed. Sign in with your password."),
        (password_reset, "Your password is changed and every device is signed out. Sign in "
                         "with the new password; your face is still checked."),
        (signed_out, "You are signed out on every device."),
    )  # fmt: skip
    notice = next((text for shown, text in reversed(notices) if shown), None)
    context = {"values": {}, "notice": notice, "next": safe_return_to(next_page)}
    if tries_spent:
        context["message"] = TRIES_SPENT_MESSAGE
    return render(request, "login.html", context)


@router.post("/login")
async def login_submit(
    request: Request,
    accounts: AccountsDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
    email: FormText = "",
    password: FormText = "",
    next_page: ReturnToForm = "",
) -> Response:
    # After the face step, continue to this authorization request (only such a relative path).
    return_to = safe_return_to(next_page)
    try:
        result = await passwords.run(accounts.login, email, password, client_address(request))
    except InvalidCredentials as error:
        context = {"values": {"email": email}, "message": error.message, "next": return_to}
        return render(request, "login.html", context, status_code=401)
    except EmailNotVerified as error:
        context = {"values": {"email": email}, "message": error.message, "next": return_to,
                   "unverified": True}  # fmt: skip
        return render(request, "login.html", context, status_code=403)
    except AccountLocked as error:
        context = {"values": {"email": email}, "message": error.message, "next": return_to}
        response = render(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    response = RedirectResponse(PAGE_FOR_STEP[result.next_step], status_code=303)
    cookies.set_access(response, request, result.issued)
    if return_to:
        cookies.set_return_to(response, request, return_to, result.issued.claims.exp)
    elif cookies.read_return_to(request):
        cookies.clear_return_to(response, request)
    return response


@router.get("/password")
def password_page(request: Request, accounts: AccountsDep, claims: ClaimsDep) -> Response:
    accounts.require_recent_auth(claims)
    return render(request, "password.html", {"errors": {}, "signed_in": True})


@router.post("/password")
async def password_submit(
    request: Request,
    accounts: AccountsDep,
    passwords: PasswordPoolDep,
    claims: ClaimsDep,
    current_password: FormText = "",
    new_password: FormText = "",
    new_password_confirm: FormText = "",
) -> Response:
    try:
        await passwords.run(
            accounts.change_password,
            claims,
            current_password,
            new_password,
            new_password_confirm,
            client_address(request),
        )
    except InvalidInput as error:
        context = {"errors": error.fields, "message": error.message, "signed_in": True}
        return render(request, "password.html", context, status_code=422)
    return RedirectResponse("/application/?password_changed=1", status_code=303)


@router.get("/reauthenticate")
def reauthenticate_page(request: Request, accounts: AccountsDep, claims: ClaimsDep) -> Response:
    accounts.require_full_session(claims)
    return render(request, "reauthenticate.html", {"errors": {}, "signed_in": True})


@router.post("/reauthenticate")
async def reauthenticate_submit(
    request: Request,
    accounts: AccountsDep,
    passwords: PasswordPoolDep,
    cookies: CookiesDep,
    claims: ClaimsDep,
    password: FormText = "",
) -> Response:
    try:
        result = await passwords.run(
            accounts.reauthenticate, claims, password, client_address(request)
        )
    except InvalidInput as error:
        context = {"errors": error.fields, "message": error.message, "signed_in": True}
        return render(request, "reauthenticate.html", context, status_code=422)
    response = RedirectResponse(PAGE_FOR_STEP[result.next_step], status_code=303)
    if result.issued is not None:
        cookies.set_access(response, request, result.issued)
    return response


@router.post("/sign-out-everywhere")
def sign_out_everywhere(
    request: Request, accounts: AccountsDep, cookies: CookiesDep, claims: ClaimsDep
) -> Response:
    accounts.sign_out_everywhere(claims)
    response = RedirectResponse("/auth/login?signed_out=1", status_code=303)
    cookies.clear_access(response, request)
    return response


@router.post("/logout")
def logout(
    request: Request, accounts: AccountsDep, cookies: CookiesDep, claims: OptionalClaimsDep
) -> Response:
    if claims is not None:
        accounts.logout(claims)
    response = RedirectResponse("/auth/login", status_code=303)
    cookies.clear_access(response, request)
    return response
