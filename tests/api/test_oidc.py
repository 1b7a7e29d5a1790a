"""The OpenID Connect provider through the API, against the real database: the code flow with
PKCE, consent, ID tokens and userinfo, and the attacks the protocol must refuse."""

import base64
import hashlib
import secrets
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pymongo import MongoClient

from app import create_app
from face_auth.business_val.oidc import ACR_MULTI_FACTOR, NewClient
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE, RETURN_TO_COOKIE
from face_auth.utils import utc_now
from tests.support import PASSWORD, csrf_headers, registration

ISSUER = "https://testserver"
CALLBACK = "https://rp.example.com/callback"
PUBLIC_CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    """The app over https (Authlib refuses OAuth over plain http off the loopback)."""
    app = create_app(settings.model_copy(update={"public_url": ISSUER}))
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as test_client:
        yield test_client


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def add_client(client: TestClient, public: bool = False, uri: str = CALLBACK) -> NewClient:
    return client.app.state.oidc.add_client("Example RP", [uri], public)


def sign_in(client: TestClient, suffix: str = "oidc") -> str:
    """Register, then a full (password and face) session, as the face step would issue it."""
    body = registration(suffix)
    assert client.post("/api/v1/users", json=body, headers=csrf_headers(client)).status_code == 201
    login = {"email": body["email"], "password": PASSWORD}
    assert client.post("/api/v1/sessions", json=login, headers=csrf_headers(client)).is_success
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    full_session(client, user_id)
    return user_id


def full_session(client: TestClient, user_id: str) -> None:
    """The cookie the face step would set: a full session (password and face)."""
    issued = client.app.state.tokens.issue(user_id, ["pwd", "face"], timedelta(minutes=30))
    client.cookies.delete(ACCESS_COOKIE)
    client.cookies.set(ACCESS_COOKIE, issued.token)


def authorize_params(registered: NewClient, verifier: str, **overrides: str | None) -> dict:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": registered.client.client_id,
        "redirect_uri": registered.client.redirect_uris[0],
        "scope": "openid profile email",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {key: value for key, value in params.items() if value is not None}


def consent(client: TestClient, params: dict, decision: str = "allow") -> httpx.Response:
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    return client.post(
        "/oauth2/authorize", params=params, data={"csrf_token": token, "decision": decision}
    )


def redirect_params(response: httpx.Response, uri: str = CALLBACK) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(uri + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def get_code(client: TestClient, registered: NewClient, verifier: str, **overrides: str) -> str:
    params = authorize_params(registered, verifier, **overrides)
    response = client.get("/oauth2/authorize", params=params)
    if response.status_code == 200:  # the consent page, the first time
        response = consent(client, params)
    returned = redirect_params(response, registered.client.redirect_uris[0])
    assert returned["state"] == params["state"]
    return returned["code"]


def exchange(
    client: TestClient, registered: NewClient, code: str, verifier: str | None, **extra: str
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, **extra}
    data.setdefault("redirect_uri", registered.client.redirect_uris[0])
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = None
    if registered.secret:
        auth = (registered.client.client_id, registered.secret)
    else:
        data["client_id"] = registered.client.client_id
    return client.post("/oauth2/token", data=data, auth=auth)


def id_token_claims(client: TestClient, id_token: str, client_id: str, nonce: str) -> dict:
    """Validate an ID token as a relying party does: signature by a key of our JWKS (ES256),
    then iss, aud, exp, iat, nonce (Authlib's client-side claims validation)."""
    keys = KeySet.import_key_set(client.get("/oauth2/jwks").json())
    token = jwt.decode(id_token, keys, algorithms=["ES256"])
    claims = CodeIDToken(
        token.claims,
        token.header,
        {"iss": {"values": [ISSUER]}},
        {"client_id": client_id, "nonce": nonce},
    )
    claims.validate()
    return {**claims, "_kid": token.header["kid"]}


def userinfo(client: TestClient, access_token: str) -> httpx.Response:
    return client.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def test_discovery_and_jwks_describe_an_es256_provider(
    https_client: TestClient, settings: Settings
) -> None:
    metadata = https_client.get("/.well-known/openid-configuration").json()
    # Authlib's checks of a discovery document, all but one: Discovery 1.0 wants RS256 listed,
    # and we sign with ES256 only (issue 15; docs/oidc.md says so).
    checked = OpenIDProviderMetadata(metadata)
    for name in dir(checked):
        if (
            name.startswith("validate_")
            and name != "validate_id_token_signing_alg_values_supported"
        ):
            getattr(checked, name)()
    assert metadata["issuer"] == ISSUER
    assert metadata["authorization_endpoint"] == f"{ISSUER}/oauth2/authorize"
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "none"}

    [key] = https_client.get("/oauth2/jwks").json()["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
    assert key["kid"] and "d" not in key
    assert (settings.oidc_keys_path.stat().st_mode & 0o777) == 0o600


def test_code_flow_with_consent_id_token_and_userinfo(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    verifier = new_verifier()
    params = authorize_params(registered, verifier)

    page = client.get("/oauth2/authorize", params=params)
    assert page.status_code == 200
    assert "Allow Example RP?" in page.text
    assert "your email address" in page.text
    # The consent form may be answered with a redirect to the client's origin, and only that.
    csp = page.headers["content-security-policy"]
    assert "form-action 'self' https://rp.example.com;" in csp
    assert "form-action 'self';" in client.get("/auth/login").headers["content-security-policy"]

    returned = redirect_params(consent(client, params))
    assert returned["state"] == "state-123"
    response = exchange(client, registered, returned["code"], verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert "refresh_token" not in tokens

    claims = id_token_claims(client, tokens["id_token"], registered.client.client_id, "nonce-456")
    assert claims["iss"] == ISSUER
    assert claims["sub"] == user_id
    assert claims["aud"] == registered.client.client_id
    assert claims["amr"] == ["pwd", "face"]
    assert claims["acr"] == ACR_MULTI_FACTOR
    assert claims["email"] == "user_oidc@example.com"
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["auth_time"] - utc_now().timestamp()) < 60
    assert claims["_kid"] == client.get("/oauth2/jwks").json()["keys"][0]["kid"]

    info = userinfo(client, tokens["access_token"])
    assert info.status_code == 200
    assert info.json() == {
        "sub": user_id,
        "name": "Test User oidc",
        "preferred_username": "user_oidc",
        "email": "user_oidc@example.com",
        "email_verified": False,
    }

    # Consent is remembered: the next sign-in goes straight back with a code.
    again = client.get("/oauth2/authorize", params=authorize_params(registered, new_verifier()))
    assert "code" in redirect_params(again)


def test_a_public_client_uses_pkce_without_a_secret(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client, public=True, uri=PUBLIC_CALLBACK)
    assert registered.secret is None
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier, scope="openid")

    response = exchange(client, registered, code, verifier)
    assert response.status_code == 200, response.text
    claims = id_token_claims(
        client, response.json()["id_token"], registered.client.client_id, "nonce-456"
    )
    assert "email" not in claims and "name" not in claims  # only the scopes asked for
    assert userinfo(client, response.json()["access_token"]).json() == {"sub": claims["sub"]}
    # By POST too, server to server: no CSRF token needed (and none sent).
    bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.post("/oauth2/userinfo", headers=bearer).json() == {"sub": claims["sub"]}


def test_client_authentication_is_required_as_registered(https_client: TestClient) -> None:
    client = https_client
    confidential, public = add_client(client), add_client(client, True, PUBLIC_CALLBACK)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, confidential, verifier)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        "client_id": confidential.client.client_id,
    }
    # A confidential client without its secret, or with a wrong one: 401 invalid_client.
    assert client.post("/oauth2/token", data=data).json()["error"] == "invalid_client"
    wrong = client.post("/oauth2/token", data=data, auth=(confidential.client.client_id, "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "www-authenticate" in wrong.headers
    # A public client presenting a secret is not a public client.
    fake = client.post("/oauth2/token", data=data, auth=(public.client.client_id, "x"))
    assert fake.json()["error"] == "invalid_client"


def test_a_code_used_twice_fails_and_revokes_what_the_first_use_obtained(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)

    first = exchange(client, registered, code, verifier)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    assert userinfo(client, access_token).status_code == 200

    second = exchange(client, registered, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    revoked = userinfo(client, access_token)
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]


def test_the_token_request_must_repeat_the_redirect_uri(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    response = exchange(client, registered, code, verifier, redirect_uri=CALLBACK + "/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("verifier", "error"),
    [(None, "invalid_request"), ("wrong-" + "x" * 50, "invalid_grant")],
    ids=["missing", "wrong"],
)
def test_the_pkce_verifier_must_match(
    https_client: TestClient, verifier: str | None, error: str
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    right = new_verifier()
    code = get_code(client, registered, right)
    response = exchange(client, registered, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == error
    # The code is burnt by the failed attempt: the right verifier cannot use it any more.
    assert exchange(client, registered, code, right).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},
        {"state": None},
        {"scope": "profile email"},
        {"scope": "openid admin"},
    ],
    ids=["no-pkce", "plain-pkce", "no-method", "no-state", "no-openid", "unknown-scope"],
)
def test_invalid_requests_go_back_to_the_client_with_an_error(
    https_client: TestClient, overrides: dict[str, str | None]
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    response = client.get(
        "/oauth2/authorize", params=authorize_params(registered, new_verifier(), **overrides)
    )
    returned = redirect_params(response)
    assert returned["error"] in {"invalid_request", "invalid_scope"}
    assert "code" not in returned
    if overrides.get("state", "") is not None:
        assert returned["state"] == "state-123"


def test_an_id_token_for_another_client_is_refused_by_the_relying_party(
    https_client: TestClient,
) -> None:
    """A token with a foreign aud: client B cannot accept A's ID token, nor redeem A's code."""
    client = https_client
    client_a, client_b = add_client(client), add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, client_a, verifier)
    stolen = exchange(client, client_b, code, verifier)
    assert stolen.json()["error"] == "invalid_grant"

    code = get_code(client, client_a, verifier)
    id_token = exchange(client, client_a, code, verifier).json()["id_token"]
    # Refused by Authlib's client-side checks (for another audience, azp would have to name B).
    with pytest.raises(JoseError, match=r"aud|azp"):
        id_token_claims(client, id_token, client_b.client.client_id, "nonce-456")
    assert id_token_claims(client, id_token, client_a.client.client_id, "nonce-456")


def test_an_expired_code_is_refused(
    https_client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    mongo[settings.database_name]["oauth_codes"].update_many(
        {}, {"$set": {"code_expires_at": utc_now() - timedelta(seconds=1)}}
    )
    response = exchange(client, registered, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_codes_and_tokens_are_stored_as_hashes_with_ttl(
    https_client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    access_token = exchange(client, registered, code, verifier).json()["access_token"]
    db = mongo[settings.database_name]
    stored_client = db["oauth_clients"].find_one({"_id": registered.client.client_id})
    assert registered.secret not in str(stored_client)
    assert db["oauth_codes"].find_one({"_id": code}) is None
    assert db["oauth_tokens"].find_one({"_id": access_token}) is None
    assert db["oauth_codes"].count_documents({}) == db["oauth_tokens"].count_documents({}) == 1
    for name in ("oauth_codes", "oauth_tokens"):
        ttl = db[name].index_information()["expiry_ttl"]
        assert ttl["expireAfterSeconds"] == 0


def test_an_unregistered_client_or_redirect_uri_is_never_redirected_to(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    for overrides in (
        {"client_id": "no-such-client"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example.com/callback"},
        {"redirect_uri": CALLBACK + "/"},  # exact match only: no trailing slash,
        {"redirect_uri": CALLBACK + "?next=https://evil.example.com"},  # no extra query,
        {"redirect_uri": "https://rp.example.com:444/callback"},  # no other port,
        {"redirect_uri": "https://rp.example.com/callback/../evil"},  # no path games
        {"redirect_uri": None},
    ):
        response = client.get(
            "/oauth2/authorize", params=authorize_params(registered, verifier, **overrides)
        )
        assert response.status_code == 400, overrides
        assert "location" not in response.headers
        assert "Invalid sign-in request" in response.text

    token = client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
        auth=("no-such-client", "secret"),
    )
    assert token.status_code == 401
    assert token.json()["error"] == "invalid_client"
    unsupported = client.post("/oauth2/token", data={"grant_type": "password"})
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_denying_consent_returns_access_denied_with_state(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    params = authorize_params(registered, new_verifier())
    returned = redirect_params(consent(client, params, decision="deny"))
    assert returned["error"] == "access_denied"
    assert returned["state"] == "state-123"
    assert "code" not in returned
    assert client.app.state.oidc.granted_applications(user_id) == []


def test_the_consent_form_needs_the_csrf_token(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    params = authorize_params(registered, new_verifier())
    forged = client.post("/oauth2/authorize", params=params, data={"decision": "allow"})
    assert forged.status_code == 403
    assert "location" not in forged.headers


def test_without_a_session_authorize_sends_the_user_through_both_factors_and_back(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = add_client(client)
    params = authorize_params(registered, new_verifier())
    none = client.get("/oauth2/authorize", params={**params, "prompt": "none"})
    assert redirect_params(none)["error"] == "login_required"

    start = client.get("/oauth2/authorize", params=params)
    assert start.status_code == 303
    login_url = start.headers["location"]
    assert login_url.startswith("/auth/login?next=%2Foauth2%2Fauthorize%3F")
    login_page = client.get(login_url)
    next_value = parse_qs(urlsplit(login_url).query)["next"][0]
    assert f'name="next" value="{next_value.replace("&", "&amp;")}"' in login_page.text

    body = registration("return")
    assert client.post("/api/v1/users", json=body, headers=csrf_headers(client)).status_code == 201
    form = {"email": body["email"], "password": PASSWORD, "next": next_value}
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    logged_in = client.post("/auth/login", data={**form, "csrf_token": token})
    assert logged_in.headers["location"] == "/application/face/enroll"
    assert unquote(client.cookies.get(RETURN_TO_COOKIE)) == next_value

    # The face step ends on the account page (face_capture.js), which continues the sign-in.
    full_session(client, client.get("/api/v1/me").json()["user"]["id"])
    onward = client.get("/application/")
    assert onward.status_code == 303
    assert onward.headers["location"] == next_value
    assert RETURN_TO_COOKIE not in client.cookies
    assert client.get("/oauth2/authorize", params=params).status_code == 200  # consent
    assert client.get("/application/").status_code == 200  # no second detour


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/oauth2/authorize?x=1",
        "//evil.example.com/oauth2/authorize",
        "/\\evil.example.com/oauth2/authorize",
        "/oauth2/authorize/../../evil",
        "/application/",
        "javascript:alert(1)",
        "/oauth2/authorize\r\nLocation: https://evil.example.com",
        "/oauth2/authorize#https://evil.example.com",
    ],
)
def test_the_login_never_returns_to_anything_but_the_authorization_endpoint(
    https_client: TestClient, target: str
) -> None:
    client = https_client
    page = client.get("/auth/login", params={"next": target})
    assert 'name="next"' not in page.text
    body = registration("redirect")
    assert client.post("/api/v1/users", json=body, headers=csrf_headers(client)).status_code == 201
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    form = {"email": body["email"], "password": PASSWORD, "next": target, "csrf_token": token}
    logged_in = client.post("/auth/login", data=form)
    assert logged_in.status_code == 303
    assert RETURN_TO_COOKIE not in client.cookies

    # Nor does a planted cookie make the account page redirect anywhere else.
    full_session(client, client.get("/api/v1/me").json()["user"]["id"])
    client.cookies.set(RETURN_TO_COOKIE, target)
    assert client.get("/application/").status_code == 200


def test_the_account_page_lists_and_revokes_granted_applications(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    access_token = exchange(client, registered, code, verifier).json()["access_token"]

    page = client.get("/application/")
    assert "Example RP" in page.text
    assert "receives openid, profile, email" in page.text
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    revoked = client.post(
        "/application/applications/revoke",
        data={"client_id": registered.client.client_id, "csrf_token": token},
    )
    assert revoked.headers["location"] == "/application/?application_revoked=1"
    assert "You have not signed in to other applications" in client.get("/application/").text
    assert userinfo(client, access_token).status_code == 401
    # The next sign-in asks for consent again.
    again = client.get("/oauth2/authorize", params=authorize_params(registered, verifier))
    assert again.status_code == 200
    assert "Allow Example RP?" in again.text


def test_oauth_over_plain_http_off_the_loopback_is_refused(settings: Settings) -> None:
    plain = settings.model_copy(update={"public_url": "http://auth.example.com"})
    with TestClient(create_app(plain), base_url="http://auth.example.com") as client:
        page = client.get("/oauth2/authorize", params={"client_id": "x"})
        assert page.status_code == 400
        assert "insecure_transport" in page.text
        token = client.post("/oauth2/token", data={"grant_type": "authorization_code"})
        assert token.status_code == 400
        assert token.json()["error"] == "insecure_transport"


def test_userinfo_needs_a_bearer_token(https_client: TestClient) -> None:
    missing = https_client.get("/oauth2/userinfo")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].lower().startswith("bearer")
    wrong = userinfo(https_client, "not-a-token")
    assert wrong.status_code == 401
