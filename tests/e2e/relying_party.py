"""A tiny relying party: another web application that signs its users in with face_auth.

Not face_auth code: a Starlette app using Authlib's OpenID Connect client, the way any
application would (docs/oidc.md's five lines). It reads the provider's discovery document,
sends the user to authorize (with PKCE S256, which Authlib sends when asked, state and nonce),
exchanges the code with Authlib's default client authentication (client_secret_basic),
validates the ID token against the provider's JWKS (signature, iss, aud, exp, nonce, at_hash),
asks userinfo, and shows who signed in (/session.json for tests).

Run by tests/e2e/test_oidc_stock_clients.py as its own process:
    RP_ISSUER=... RP_CLIENT_ID=... RP_CLIENT_SECRET=... RP_PORT=... python relying_party.py
"""

import base64
import html
import json
import os
import secrets

import uvicorn
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ISSUER = os.environ["RP_ISSUER"]
PORT = int(os.environ["RP_PORT"])
CALLBACK = f"http://127.0.0.1:{PORT}/callback"

oauth = OAuth()
oauth.register(
    name="face_auth",
    client_id=os.environ["RP_CLIENT_ID"],
    client_secret=os.environ["RP_CLIENT_SECRET"],
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
)


def page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><title>Example RP</title></head><body>{body}</body></html>",
        status_code=status_code,
    )


def header_of(token: str) -> dict[str, str]:
    encoded = token.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


async def home(request: Request) -> Response:
    user = request.session.get("user")
    if not user:
        return page('<h1>Example RP</h1><a id="sign-in" href="/login">Sign in with face_auth</a>')
    rows = "".join(
        f'<dt>{name}</dt><dd id="{name}">{html.escape(str(user[name]))}</dd>'
        for name in ("email", "name", "sub", "amr", "acr", "kid", "userinfo_email")
    )
    return page(
        f"<h1>Signed in to Example RP</h1><dl>{rows}</dl>"
        '<a id="sign-in-again" href="/login">Sign in again</a>'
    )


async def login(request: Request) -> Response:
    request.session.pop("user", None)
    return await oauth.face_auth.authorize_redirect(
        request, CALLBACK, nonce=secrets.token_urlsafe(16)
    )


async def callback(request: Request) -> Response:
    try:
        # Authlib checks state, exchanges the code (with the PKCE verifier), and validates the
        # ID token with the keys of the provider's jwks_uri.
        token = await oauth.face_auth.authorize_access_token(request)
    except OAuthError as error:
        body = f'<h1>Sign-in failed</h1><p id="error">{html.escape(error.error or "")}</p>'
        return page(body, status_code=400)
    claims = token["userinfo"]  # the validated ID token's claims
    info = await oauth.face_auth.userinfo(token=token)
    request.session["user"] = {
        "email": claims["email"],
        "name": claims.get("name"),
        "sub": claims["sub"],
        "amr": " ".join(claims["amr"]),
        "acr": claims["acr"],
        "alg": header_of(token["id_token"])["alg"],
        "kid": header_of(token["id_token"])["kid"],
        "userinfo_email": info["email"],
    }
    return RedirectResponse("/", status_code=303)


async def session(request: Request) -> Response:
    return JSONResponse({"user": request.session.get("user")})


app = Starlette(
    routes=[
        Route("/", home),
        Route("/login", login),
        Route("/callback", callback),
        Route("/session.json", session),
    ],
    middleware=[
        Middleware(
            SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie="rp_session"
        )
    ],
)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
