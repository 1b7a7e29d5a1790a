from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.deps import (
    AccountsDep,
    OptionalClaimsDep,
    SettingsDep,
    clear_access_cookie,
    set_access_cookie,
)
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val import RegistrationRequest
from face_auth.exception import AccountExists, AccountLocked, InvalidCredentials, InvalidInput

router = APIRouter(prefix="/auth", tags=["pages"])

FormText = Annotated[str, Form(max_length=1000)]


@router.get("/register")
def register_page(request: Request) -> Response:
    return render(request, "register.html", {"values": {}, "errors": {}})


@router.post("/register")
def register_submit(
    request: Request,
    accounts: AccountsDep,
    name: FormText = "",
    username: FormText = "",
    email: FormText = "",
    phone: FormText = "",
    password: FormText = "",
    password_confirm: FormText = "",
) -> Response:
    values = {"name": name, "username": username, "email": email, "phone": phone}
    try:
        accounts.register(
            RegistrationRequest(**values, password=password, password_confirm=password_confirm)
        )
    except InvalidInput as error:
        context = {"values": values, "errors": error.fields, "message": error.message}
        return render(request, "register.html", context, status_code=422)
    except AccountExists as error:
        context = {"values": values, "errors": {}, "message": error.message}
        return render(request, "register.html", context, status_code=409)
    return RedirectResponse("/auth/login?registered=1", status_code=303)


@router.get("/login")
def login_page(request: Request, registered: bool = False) -> Response:
    notice = "Account created. Sign in with your password." if registered else None
    return render(request, "login.html", {"values": {}, "notice": notice})


@router.post("/login")
def login_submit(
    request: Request,
    accounts: AccountsDep,
    settings: SettingsDep,
    email: FormText = "",
    password: FormText = "",
) -> Response:
    try:
        result = accounts.login(email, password)
    except (InvalidCredentials, AccountLocked) as error:
        context = {"values": {"email": email}, "message": error.message}
        status_code = 429 if isinstance(error, AccountLocked) else 401
        return render(request, "login.html", context, status_code=status_code)
    response = RedirectResponse(PAGE_FOR_STEP[result.next_step], status_code=303)
    set_access_cookie(response, request, settings, result.issued)
    return response


@router.post("/logout")
def logout(
    request: Request, accounts: AccountsDep, settings: SettingsDep, claims: OptionalClaimsDep
) -> Response:
    if claims is not None:
        accounts.logout(claims)
    response = RedirectResponse("/auth/login", status_code=303)
    clear_access_cookie(response, request, settings)
    return response
