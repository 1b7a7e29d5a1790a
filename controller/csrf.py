"""CSRF protection for every state-changing request (OWASP ASVS V3.5):

- the request's Origin (or else its Referer) must be this site, when the browser sends one;
- the token sent in the X-CSRF-Token header or the csrf_token form field must equal the CSRF
  cookie, and be signed by this server for the session it is sent with (the access token's
  jti, or "anonymous"): a planted cookie, or a token of another session, fails.

The decision is taken before the body of an upload is read: multipart and JSON requests (the
face uploads, the API) must carry the token in the header; only the pages' url-encoded forms
(bounded at max_form_bytes by BodySizeLimit) are parsed for the csrf_token field. A refused
upload is never read, let alone spooled to disk.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request, Response

from face_auth.business_val import TokenService
from face_auth.constant import CSRF_FORM_FIELD, CSRF_HEADER
from face_auth.exception import CsrfFailed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS = "anonymous"
# OpenID Connect endpoints that relying parties call server to server (controller/oidc).
# They act on no cookie: /oauth2/token authenticates the client (HTTP Basic, or a public
# client's PKCE verifier) and /oauth2/userinfo a Bearer access token, so a forged cross-site
# request carries nothing a browser adds. Exact paths, POST only: nothing else is exempt.
# /oauth2/authorize by POST is an authorization request (OpenID Connect Core 3.1.2.1) that
# changes nothing: it is answered with a redirect to the same request by GET.
# /oauth2/revoke and /oauth2/introspect authenticate the client as /oauth2/token does.
# /oauth2/logout by POST (RP-initiated logout) ends the session only for the ID token hint of
# the signed-in user; without one it asks the user, on a CSRF-protected form.
CSRF_EXEMPT_POSTS = frozenset(
    {
        "/oauth2/token",
        "/oauth2/userinfo",
        "/oauth2/authorize",
        "/oauth2/revoke",
        "/oauth2/introspect",
        "/oauth2/logout",
        # Identify mode's kiosk calls: a kiosk's bearer token, never a cookie.
        "/api/v1/identify",
        "/api/v1/identify/challenge",
    }
)
_KEY_LABEL = b"face_auth csrf token key"
_NONCE = re.compile(r"[A-Za-z0-9_-]{24}")


class CsrfTokens:
    """Tokens of the form `<random>.<HMAC-SHA256(key, random "." session)>`."""

    def __init__(self, signing_secret: str) -> None:
        # A key of its own, derived from the signing secret: a CSRF token is never a JWT key.
        self._key = hmac.new(signing_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def _signature(self, nonce: str, session: str) -> str:
        message = f"{nonce}.{session}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, session: str, nonce: str | None = None) -> str:
        """A token for `session`. Re-signing the nonce of the browser's previous token (when
        its session changed) gives every concurrent request the same new token."""
        nonce = nonce if nonce and _NONCE.fullmatch(nonce) else secrets.token_urlsafe(18)
        return f"{nonce}.{self._signature(nonce, session)}"

    def is_valid(self, token: str, session: str) -> bool:
        nonce, _, signature = token.partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._signature(nonce, session))


def session_of(request: Request) -> str:
    """What this request's CSRF token must be bound to: its session's jti, or anonymous."""
    tokens: TokenService = request.app.state.tokens
    access = request.app.state.cookies.read_access(request)
    return (tokens.session_id(access) if access else None) or ANONYMOUS


async def ensure_csrf_cookie(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give every visitor a CSRF token for their current session (pages embed it in their
    forms); a token of another session, or none, is replaced."""
    csrf: CsrfTokens = request.app.state.csrf
    cookies = request.app.state.cookies
    session = session_of(request)
    existing = cookies.read_csrf(request)
    valid = existing is not None and csrf.is_valid(existing, session)
    request.state.csrf_session = session
    if valid:
        request.state.csrf_token = existing
    else:
        previous_nonce = existing.partition(".")[0] if existing else None
        request.state.csrf_token = csrf.issue(session, previous_nonce)
    response = await call_next(request)
    if not valid:
        cookies.set_csrf(response, request, request.state.csrf_token)
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site. Clients that send
    neither Origin nor Referer (scripts, tests) still need the token."""
    own = _origin(str(request.base_url))
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer")
    return referer is None or _origin(referer) == own


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if request.method == "POST" and request.url.path in CSRF_EXEMPT_POSTS:
        return
    if not is_same_origin(request):
        raise CsrfFailed()
    cookie = request.app.state.cookies.read_csrf(request)
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form(max_files=0, max_fields=50)
        field = form.get(CSRF_FORM_FIELD)
        sent = field if isinstance(field, str) else None
    csrf: CsrfTokens = request.app.state.csrf
    if (
        not cookie
        or not sent
        or not hmac.compare_digest(cookie, sent)
        or not csrf.is_valid(sent, request.state.csrf_session)
    ):
        raise CsrfFailed()
