"""The authorization endpoint: the request (by GET, or by POST through a redirect), the trip
through sign-in (password, then face) and back, prompt=login and max_age, consent, and the
answer to the client with a code or an error."""

import re
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.cookies import CookieTransport
from controller.deps import AccountsDep, ClaimsDep, OptionalClaimsDep
from controller.oidc.adapter import OidcRequest, query_request
from controller.oidc.deps import OidcDep, ServerDep, authorized_user
from controller.oidc.grants import CodeGrant
from controller.oidc.models import Client
from controller.oidc.paths import AUTHORIZE_PATH, CONSENT_PATH
from controller.oidc.server import FaceAuthServer
from controller.rendering import render
from controller.security_headers import CONTENT_SECURITY_POLICY
from face_auth.business_val.oidc.rules import (
    SCOPE_DESCRIPTIONS,
    AuthorizedUser,
    must_sign_in_again,
    parse_max_age,
    safe_return_to,
    scopes_of,
)
from face_auth.entity.oidc import OAuthClient
from face_auth.utils import utc_now

router = APIRouter()
# Added to an authorization request we sent the user to sign in again for (prompt=login,
# max_age): the time we did, which a sign-in made since satisfies.
REAUTH_PARAMETER = "fa_reauth"
_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)


def resume_authorization(request: Request, cookies: CookieTransport) -> Response | None:
    """After both factors: back to the authorization request that sent the user to sign in
    (the sign-in page kept it in a cookie, checked again here by the rules layer), or None
    when no application is waiting."""
    return_to = safe_return_to(cookies.read_return_to(request))
    if not return_to:
        return None
    redirect = RedirectResponse(return_to, status_code=303)
    cookies.clear_return_to(redirect, request)
    return redirect


# What a person reads when the application that sent them here made a request we cannot send
# back to it (RFC 6749 4.1.2.1); the protocol's code goes in small print for its owner.
AUTHORIZE_ERROR_MESSAGES = {
    "invalid_client": "The application that sent you here is not registered with this sign-in "
    "service. Go back to it and try again, or tell its owner.",
    "invalid_request": "The application that sent you here asked to return to an address it has "
    "not registered, so we will not send you there. Go back to it and try again, or tell its "
    "owner.",
}
AUTHORIZE_ERROR_FALLBACK = (
    "The application that sent you here made a sign-in request we cannot accept. Go back to it "
    "and try again, or tell its owner."
)


def authorize_error(request: Request, server: FaceAuthServer, error: OAuth2Error) -> Response:
    """RFC 6749 4.1.2.1: back to the client only when its redirect URI was validated; else
    (unknown client, missing or unregistered redirect URI) tell the user on our own page."""
    if error.redirect_uri:
        return server.handle_error_response(None, error)
    message = AUTHORIZE_ERROR_MESSAGES.get(error.error, AUTHORIZE_ERROR_FALLBACK)
    context = {"title": "Invalid sign-in request", "message": message, "status_code": 400,
               "detail": f"Error code for the application's owner: {error.error}"}  # fmt: skip
    return render(request, "error.html", context, status_code=400)


def consent_page(
    request: Request, client: OAuthClient, redirect_uri: str, scopes: tuple[str, ...]
) -> Response:
    context = {
        "client_name": client.name,
        "redirect_host": urlsplit(redirect_uri).netloc,
        "scopes": [(name, SCOPE_DESCRIPTIONS[name]) for name in scopes],
        "form_action": f"{CONSENT_PATH}?{request.url.query}",
    }
    response = render(request, "consent.html", context)
    # The consent form posts here and is answered with a redirect to the client. Chromium
    # applies form-action to that redirect too: allow the client's registered origin, on this
    # page only (the origin of a redirect URI that matched a registered one exactly).
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    if _ORIGIN.fullmatch(origin):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {origin}"
        )
    return response


def _prompts(oauth_request: OidcRequest) -> set[str]:
    return set((oauth_request.payload.data.get("prompt") or "").split())


def _sign_in_redirect(request: Request) -> RedirectResponse:
    """To the password page, and back to this authorization request after the face step,
    without `prompt=login` and with the time we sent the user (REAUTH_PARAMETER), which the
    new sign-in satisfies (else prompt=login or max_age=0 would send them round again)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != REAUTH_PARAMETER]
    items = [(k, _without_login(v) if k == "prompt" else v) for k, v in items]
    items = [(k, v) for k, v in items if k != "prompt" or v]
    items.append((REAUTH_PARAMETER, str(int(utc_now().timestamp()))))
    target = f"{AUTHORIZE_PATH}?{urlencode(items)}"
    return RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303)


def _without_login(prompt: str) -> str:
    return " ".join(value for value in prompt.split() if value != "login")


def _reauthentication(
    request: Request,
    server: FaceAuthServer,
    oauth_request: OidcRequest,
    grant: CodeGrant,
    end_user: AuthorizedUser,
) -> Response | None:
    """prompt=login and max_age: a fresh password and face step first (or login_required for
    prompt=none); None when the current sign-in will do."""
    prompts = _prompts(oauth_request)
    if not must_sign_in_again(
        prompts=prompts,
        max_age=parse_max_age(oauth_request.payload.data.get("max_age")),  # validated
        auth_time=end_user.auth_time,
        sent_to_sign_in_at=oauth_request.payload.data.get(REAUTH_PARAMETER),
        now=utc_now(),
    ):
        return None
    if "none" in prompts:
        error = LoginRequiredError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    return _sign_in_redirect(request)


@router.get(AUTHORIZE_PATH)
def authorize(
    request: Request, server: ServerDep, oidc: OidcDep, claims: OptionalClaimsDep
) -> Response:
    """Validate the request; without a full session (or for prompt=login, or a sign-in older
    than max_age), sign in (password, then face) and come back here; on the first sign-in to
    this client, ask for consent; then redirect to the client with a code."""
    end_user = authorized_user(oidc, claims)
    try:
        oauth_request = query_request(request)
        grant = server.get_consent_grant(oauth_request, end_user)
    except OAuth2Error as error:
        return authorize_error(request, server, error)
    if end_user is None:
        return _sign_in_redirect(request)
    again = _reauthentication(request, server, oauth_request, grant, end_user)
    if again is not None:
        return again
    client: Client = oauth_request.client
    scopes = scopes_of(oauth_request.scope)
    prompts = _prompts(oauth_request)
    if "consent" not in prompts and not oidc.consent_page_needed(
        end_user.user.id, client.client_id, scopes
    ):
        return server.create_authorization_response(oauth_request, end_user, grant)
    if "none" in prompts:
        error = ConsentRequiredError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    return consent_page(request, client.client, grant.redirect_uri, scopes)


@router.post(AUTHORIZE_PATH)
async def authorize_by_post(request: Request) -> Response:
    """The authorization request sent as a form (OpenID Connect Core 3.1.2.1): the same request
    by GET, through a redirect. It changes nothing, so it is exempt from the CSRF check (a
    relying party's page posts it, cross-site)."""
    form = await request.form(max_files=0, max_fields=50)
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    return RedirectResponse(f"{AUTHORIZE_PATH}?{urlencode(items)}", status_code=303)


@router.post(CONSENT_PATH)
def authorize_decision(
    request: Request,
    server: ServerDep,
    oidc: OidcDep,
    accounts: AccountsDep,
    claims: ClaimsDep,
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The consent form: the request is in the query string again and is validated again.
    Granting a new consent is a sensitive change: it needs a recent sign-in (step-up)."""
    accounts.require_recent_auth(claims)
    end_user = authorized_user(oidc, claims)
    try:
        oauth_request = query_request(request)
        grant = server.get_consent_grant(oauth_request, end_user)
    except OAuth2Error as error:
        return authorize_error(request, server, error)
    if end_user is None or decision != "allow":
        error = AccessDeniedError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    again = _reauthentication(request, server, oauth_request, grant, end_user)
    if again is not None:
        return again
    client: Client = oauth_request.client
    oidc.grant_consent(end_user.user.id, client.client, scopes_of(oauth_request.scope))
    return server.create_authorization_response(oauth_request, end_user, grant)
