from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from controller.deps import AccountsDep, ClaimsDep, OptionalClaimsDep
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP

router = APIRouter(tags=["pages"])


@router.get("/")
def home(request: Request, accounts: AccountsDep, claims: OptionalClaimsDep) -> Response:
    next_page = PAGE_FOR_STEP[accounts.next_step(claims)] if claims else None
    return render(request, "home.html", {"next_page": next_page})


@router.get("/application/")
def application(request: Request, accounts: AccountsDep, claims: ClaimsDep) -> Response:
    accounts.require_full_session(claims)
    user = accounts.current_user(claims)
    return render(request, "application.html", {"user": user, "expires_at": claims.exp})


@router.get("/application")
def application_without_slash() -> Response:
    return RedirectResponse("/application/", status_code=307)
