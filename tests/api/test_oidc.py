"""The OpenID Connect provider through the API, against the real database: the code flow with
PKCE, consent, ID tokens (RS256 and ES256) and userinfo, client authentication, revocation when
the user's sessions end, and the attacks the protocol must refuse."""

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterator
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
from face_auth.business_val.oidc.rules import ACR_MULTI_FACTOR, NewClient
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE, RETURN_TO_COOKIE
from face_auth.exception import InvalidInput
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


def add_client(
    client: TestClient, public: bool = False, uri: str = CALLBACK, alg: str = "RS256"
) -> NewClient:
    return client.app.state.oidc.add_client("Example RP", [uri], public, alg)


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
        "/oauth2/authorize/decision",
        params=params,
        data={"csrf_token": token, "decision": decision},
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


def id_token_claims(
    client: TestClient, id_token: str, client_id: str, nonce: str, alg: str = "RS256"
) -> dict:
    """Validate an ID token as a relying party does: signature by a key of our JWKS with the
    client's algorithm, then iss, aud, exp, iat, nonce (Authlib's client-side validation)."""
    keys = KeySet.import_key_set(client.get("/oauth2/jwks").json())
    token = jwt.decode(id_token, keys, algorithms=[alg])
    assert token.header["alg"] == alg
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


def test_discovery_and_jwks_describe_an_rs256_and_es256_provider(
    https_client: TestClient, settings: Settings
) -> None:
    metadata = https_client.get("/.well-known/openid-configuration").json()
    # Every one of Authlib's checks of a discovery document, RS256 listed included.
    checked = OpenIDProviderMetadata(metadata)
    for name in dir(checked):
        if name.startswith("validate_"):
            getattr(checked, name)()
    assert metadata["issuer"] == ISSUER
    assert metadata["authorization_endpoint"] == f"{ISSUER}/oauth2/authorize"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]

    rsa, ec = https_client.get("/oauth2/jwks").json()["keys"]
    assert rsa["kty"] == "RSA" and rsa["alg"] == "RS256" and len(rsa["n"]) >= 342  # 2048 bits
    assert ec["kty"] == "EC" and ec["crv"] == "P-256" and ec["alg"] == "ES256"
    for key in (rsa, ec):
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q"} & set(key)
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
    rsa_key = next(k for k in client.get("/oauth2/jwks").json()["keys"] if k["alg"] == "RS256")
    assert claims["_kid"] == rsa_key["kid"]

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
    posted = {**data, "client_id": public.client.client_id, "client_secret": "x"}
    assert client.post("/oauth2/token", data=posted).json()["error"] == "invalid_client"
    # A wrong secret in the form body: 401 invalid_client too.
    wrong_post = client.post("/oauth2/token", data={**data, "client_secret": "nope"})
    assert wrong_post.json()["error"] == "invalid_client"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_confidential_client_authenticates_with_its_secret_either_way(
    https_client: TestClient, method: str
) -> None:
    """RFC 6749 2.3.1 and OpenID Connect Core 9: openid-client sends client_secret_post on
    its defaults, most others client_secret_basic."""
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier}  # fmt: skip
    auth = None
    if method == "client_secret_basic":
        auth = (registered.client.client_id, registered.secret)
    else:
        data |= {"client_id": registered.client.client_id, "client_secret": registered.secret}
    response = client.post("/oauth2/token", data=data, auth=auth)
    assert response.status_code == 200, response.text
    assert userinfo(client, response.json()["access_token"]).status_code == 200


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
        {"code_challenge": None, "code_challenge_method": None, "state": None},
        {"scope": "profile email"},
        {"scope": "openid admin"},
    ],
    ids=["no-pkce", "plain-pkce", "no-method", "no-pkce-no-state", "no-openid", "unknown-scope"],
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


def test_without_state_pkce_protects_the_callback_and_nothing_is_echoed(
    https_client: TestClient,
) -> None:
    """openid-client sends no state when discovery lists S256 (OAuth 2.1 4.1.1)."""
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    params = authorize_params(registered, verifier, state=None)
    response = client.get("/oauth2/authorize", params=params)
    if response.status_code == 200:
        response = consent(client, params)
    returned = redirect_params(response)
    assert set(returned) == {"code"}
    exchanged = exchange(client, registered, returned["code"], verifier)
    assert exchanged.status_code == 200, exchanged.text


def test_an_id_token_for_another_client_is_refused_by_the_relying_party(
    https_client: TestClient,
) -> None:
    """A token with a foreign aud: client B cannot accept A's ID token, nor redeem A's code;
    and the code B presented is burnt, for A too (docs/oidc.md)."""
    client = https_client
    client_a, client_b = add_client(client), add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, client_a, verifier)
    stolen = exchange(client, client_b, code, verifier)
    assert stolen.json()["error"] == "invalid_grant"
    burnt = exchange(client, client_a, code, verifier)
    assert burnt.status_code == 400
    assert burnt.json()["error"] == "invalid_grant"

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
        assert "Go back to it and try again" in response.text
        assert "(invalid_" not in response.text  # the code only in small print

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
    forged = client.post("/oauth2/authorize/decision", params=params, data={"decision": "allow"})
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
    unexchanged = get_code(client, registered, verifier)

    page = client.get("/application/")
    assert "Example RP" in page.text
    # Scopes by what they give, not their protocol names.
    assert "receives your sign-in, your name and username, your email address" in page.text
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    revoked = client.post(
        "/application/applications/revoke",
        data={"client_id": registered.client.client_id, "csrf_token": token},
    )
    assert revoked.headers["location"] == "/application/?application_revoked=1"
    assert "You have not signed in to other applications" in client.get("/application/").text
    assert userinfo(client, access_token).status_code == 401
    assert exchange(client, registered, unexchanged, verifier).json()["error"] == "invalid_grant"
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


def test_userinfo_takes_the_token_in_a_form_body_too(https_client: TestClient) -> None:
    """RFC 6750 2.2, as pyoidc sends it by default; one way at a time; never in the query."""
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier, scope="openid")
    access_token = exchange(client, registered, code, verifier).json()["access_token"]

    posted = client.post("/oauth2/userinfo", data={"access_token": access_token})
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"sub": user_id}
    both = client.post(
        "/oauth2/userinfo",
        data={"access_token": access_token},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"
    forged = client.post("/oauth2/userinfo", data={"access_token": "forged"})
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]
    as_json = client.post("/oauth2/userinfo", json={"access_token": access_token})
    assert as_json.status_code == 401  # only a form-encoded body carries a token
    in_query = client.get("/oauth2/userinfo", params={"access_token": access_token})
    assert in_query.status_code == 401


def test_a_client_registered_for_es256_gets_es256_id_tokens(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client, alg="ES256")
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    id_token = exchange(client, registered, code, verifier).json()["id_token"]
    claims = id_token_claims(client, id_token, registered.client.client_id, "nonce-456", "ES256")
    ec_key = next(k for k in client.get("/oauth2/jwks").json()["keys"] if k["alg"] == "ES256")
    assert claims["_kid"] == ec_key["kid"]
    with pytest.raises(JoseError):  # a relying party expecting RS256 refuses it
        id_token_claims(client, id_token, registered.client.client_id, "nonce-456", "RS256")


def end_by_logout(client: TestClient) -> None:
    assert (
        client.delete("/api/v1/sessions/current", headers=csrf_headers(client)).status_code == 204
    )


def end_by_sign_out_everywhere(client: TestClient) -> None:
    response = client.post("/api/v1/sessions/revoke-all", headers=csrf_headers(client))
    assert response.status_code == 204


def end_by_password_change(client: TestClient) -> None:
    body = {"current_password": PASSWORD, "new_password": "a new horse battery staple",
            "new_password_confirm": "a new horse battery staple"}  # fmt: skip
    response = client.post("/api/v1/password", json=body, headers=csrf_headers(client))
    assert response.status_code == 204, response.text


def end_by_face_deletion(client: TestClient) -> None:
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 204


def end_by_account_deletion(client: TestClient) -> None:
    response = client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=csrf_headers(client)
    )
    assert response.status_code == 204, response.text


@pytest.mark.parametrize(
    "end",
    [
        end_by_logout,
        end_by_sign_out_everywhere,
        end_by_password_change,
        end_by_face_deletion,
        end_by_account_deletion,
    ],
    ids=["logout", "sign-out-everywhere", "password-change", "face-deletion", "account-deletion"],
)
def test_the_end_of_the_session_ends_its_oidc_tokens_and_codes(
    https_client: TestClient, end: Callable[[TestClient], None]
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    access_token = exchange(client, registered, code, verifier).json()["access_token"]
    unexchanged = get_code(client, registered, verifier)
    assert userinfo(client, access_token).status_code == 200

    end(client)

    revoked = userinfo(client, access_token)
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]
    late = exchange(client, registered, unexchanged, verifier)
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"


def test_logout_ends_only_what_that_session_obtained(https_client: TestClient) -> None:
    """Two browsers of one user: signing out of one leaves the other's applications alone;
    "sign out everywhere" from the other then ends everything."""
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    verifier = new_verifier()
    first = get_code(client, registered, verifier)
    first_token = exchange(client, registered, first, verifier).json()["access_token"]
    with TestClient(client.app, base_url=ISSUER, follow_redirects=False) as other:
        full_session(other, user_id)
        second = get_code(other, registered, verifier)
        second_token = exchange(other, registered, second, verifier).json()["access_token"]
        end_by_logout(client)
        assert userinfo(client, first_token).status_code == 401
        assert userinfo(other, second_token).status_code == 200
        end_by_sign_out_everywhere(other)
        assert userinfo(other, second_token).status_code == 401


def aged_session(client: TestClient, user_id: str, age: timedelta) -> int:
    """A full session whose sign-in (password and face) was `age` ago; its auth_time."""
    issued = client.app.state.tokens.issue(
        user_id, ["pwd", "face"], timedelta(minutes=30), now=utc_now() - age
    )
    client.cookies.delete(ACCESS_COOKIE)
    client.cookies.set(ACCESS_COOKIE, issued.token)
    return int(issued.claims.iat.timestamp())


def login_next(response: httpx.Response) -> str:
    """Where the password page will return to, from a redirect to it."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/auth/login?next=")
    return parse_qs(urlsplit(location).query)["next"][0]


def test_prompt_login_asks_for_the_password_and_the_face_again(https_client: TestClient) -> None:
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    verifier = new_verifier()
    # Consented once on a fresh sign-in (a consent needs a recent one, docs/security.md).
    get_code(client, registered, verifier)
    old_auth_time = aged_session(client, user_id, timedelta(minutes=5))

    params = authorize_params(registered, verifier, prompt="login consent")
    back_to = login_next(client.get("/oauth2/authorize", params=params))
    returned = parse_qs(urlsplit(back_to).query)
    assert returned["prompt"] == ["consent"]  # login done by then; the rest stays
    assert returned["code_challenge"] == [params["code_challenge"]]
    # The old sign-in does not answer it, nor does the password alone.
    assert login_next(client.get(back_to)).startswith("/oauth2/authorize?")
    login = {"email": "user_oidc@example.com", "password": PASSWORD}
    assert client.post("/api/v1/sessions", json=login, headers=csrf_headers(client)).is_success
    assert login_next(client.get(back_to)).startswith("/oauth2/authorize?")
    # Password and face: the consent page, then a code whose ID token tells the new sign-in.
    full_session(client, user_id)
    assert client.get(back_to).status_code == 200
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    decision = client.post(
        "/oauth2/authorize/decision" + back_to.removeprefix("/oauth2/authorize"),
        data={"csrf_token": token, "decision": "allow"},
    )
    code = redirect_params(decision)["code"]
    id_token = exchange(client, registered, code, verifier).json()["id_token"]
    claims = id_token_claims(client, id_token, registered.client.client_id, "nonce-456")
    assert claims["auth_time"] > old_auth_time
    assert abs(claims["auth_time"] - utc_now().timestamp()) < 60


def test_max_age_asks_for_a_new_sign_in_when_the_last_is_older(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    verifier = new_verifier()
    get_code(client, registered, verifier)
    auth_time = aged_session(client, user_id, timedelta(minutes=5))

    recent_enough = get_code(client, registered, verifier, max_age="600")
    id_token = exchange(client, registered, recent_enough, verifier).json()["id_token"]
    claims = id_token_claims(client, id_token, registered.client.client_id, "nonce-456")
    assert claims["auth_time"] == auth_time

    too_old = authorize_params(registered, verifier, max_age="60")
    back_to = login_next(client.get("/oauth2/authorize", params=too_old))
    assert parse_qs(urlsplit(back_to).query)["max_age"] == ["60"]
    silent = client.get("/oauth2/authorize", params={**too_old, "prompt": "none"})
    assert redirect_params(silent)["error"] == "login_required"
    # max_age=0 after a sign-in made for this very request: answered, not sent round again.
    zero = authorize_params(registered, verifier, max_age="0")
    back_to = login_next(client.get("/oauth2/authorize", params=zero))
    full_session(client, user_id)
    assert "code" in redirect_params(client.get(back_to))


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://rp.example.com/request.jwt"}, "request_uri_not_supported"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
    ids=["request", "request-uri", "max-age-word", "max-age-negative", "prompt-none-login"],
)
def test_unsupported_or_malformed_parameters_are_refused_to_the_client(
    https_client: TestClient, extra: dict[str, str], error: str
) -> None:
    client = https_client
    registered = add_client(client)
    sign_in(client)
    params = {**authorize_params(registered, new_verifier()), **extra}
    returned = redirect_params(client.get("/oauth2/authorize", params=params))
    assert returned["error"] == error
    assert returned["state"] == "state-123"
    assert "code" not in returned


def test_the_authorization_request_may_come_by_post(https_client: TestClient) -> None:
    """OpenID Connect Core 3.1.2.1: a relying party's page posts the form, cross-site (no
    CSRF token); it is the same request by GET."""
    client = https_client
    registered = add_client(client)
    sign_in(client)
    verifier = new_verifier()
    get_code(client, registered, verifier)
    params = authorize_params(registered, verifier)
    posted = client.post("/oauth2/authorize", data=params)
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith("/oauth2/authorize?")
    assert parse_qs(urlsplit(location).query) == {key: [value] for key, value in params.items()}
    code = redirect_params(client.get(location))["code"]
    assert exchange(client, registered, code, verifier).status_code == 200


def test_head_on_the_discovery_document_and_the_keys(https_client: TestClient) -> None:
    for path in ("/.well-known/openid-configuration", "/oauth2/jwks"):
        response = https_client.head(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"


def test_cors_for_the_pages_of_a_clients_allowed_origins(https_client: TestClient) -> None:
    """A single-page application (a public client) reads the token and userinfo responses
    from its registered origin; other origins get no Access-Control-Allow-Origin."""
    client = https_client
    spa = "http://127.0.0.1:5173"
    oidc = client.app.state.oidc
    registered = oidc.add_client("SPA", [PUBLIC_CALLBACK], True, allowed_origins=[spa])
    other = oidc.add_client("Other", [CALLBACK], False, allowed_origins=["https://other.example"])
    for path in ("/.well-known/openid-configuration", "/oauth2/jwks"):
        public = client.get(path, headers={"Origin": "https://anyone.example"})
        assert public.headers["access-control-allow-origin"] == "*"

    preflight = {"Origin": spa, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}  # fmt: skip
    allowed = client.options("/oauth2/userinfo", headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == spa
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options(
        "/oauth2/token", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in refused.headers

    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier, scope="openid")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": PUBLIC_CALLBACK,
            "code_verifier": verifier, "client_id": registered.client.client_id}  # fmt: skip
    tokens = client.post("/oauth2/token", data=data, headers={"Origin": spa})
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["access-control-allow-origin"] == spa
    assert "Origin" in tokens.headers["vary"]
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    info = client.get("/oauth2/userinfo", headers={**bearer, "Origin": spa})
    assert info.headers["access-control-allow-origin"] == spa
    # Another client's origin may not read this client's responses.
    foreign = client.get("/oauth2/userinfo", headers={**bearer, "Origin": "https://other.example"})
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers
    assert other.client.allowed_origins == ("https://other.example",)


@pytest.mark.parametrize(
    "origin",
    ["http://spa.example.com", "https://spa.example.com/", "https://spa.example.com/app",
     "https://SPA.example.com", "*", "null"],
)  # fmt: skip
def test_only_origins_can_be_allowed(https_client: TestClient, origin: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        https_client.app.state.oidc.add_client("SPA", [CALLBACK], True, allowed_origins=[origin])
    assert "allowed_origin" in refused.value.fields


def test_a_client_revokes_and_introspects_its_own_access_tokens(https_client: TestClient) -> None:
    """RFC 7009 and RFC 7662, with the client's own credentials (basic or post)."""
    client = https_client
    registered, other = add_client(client), add_client(client)
    user_id = sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    access_token = exchange(client, registered, code, verifier).json()["access_token"]
    own = (registered.client.client_id, registered.secret)

    introspected = client.post("/oauth2/introspect", data={"token": access_token}, auth=own)
    assert introspected.status_code == 200, introspected.text
    assert introspected.headers["cache-control"] == "no-store"
    body = introspected.json()
    assert body["active"] is True
    assert (body["sub"], body["client_id"], body["iss"]) == (
        user_id,
        registered.client.client_id,
        ISSUER,
    )
    assert body["scope"] == "openid profile email"
    # Another client learns nothing about it; a forged token is just inactive.
    foreign = client.post(
        "/oauth2/introspect",
        data={"token": access_token},
        auth=(other.client.client_id, other.secret),
    )
    assert foreign.json() == {"active": False}
    forged = client.post("/oauth2/introspect", data={"token": "forged"}, auth=own)
    assert forged.json() == {"active": False}
    unauthenticated = client.post("/oauth2/introspect", data={"token": access_token})
    assert unauthenticated.status_code in (400, 401)
    assert unauthenticated.json()["error"] == "invalid_client"

    # Another client may not revoke it; its own client may, with client_secret_post.
    stolen = client.post(
        "/oauth2/revoke", data={"token": access_token}, auth=(other.client.client_id, other.secret)
    )
    assert stolen.status_code == 400
    assert userinfo(client, access_token).status_code == 200
    posted = {
        "token": access_token,
        "token_type_hint": "access_token",
        "client_id": registered.client.client_id,
        "client_secret": registered.secret,
    }
    assert client.post("/oauth2/revoke", data=posted).status_code == 200
    assert userinfo(client, access_token).status_code == 401
    assert client.post("/oauth2/introspect", data={"token": access_token}, auth=own).json() == {
        "active": False
    }
    # Revoking again, or a token that never was: 200 (RFC 7009 2.2).
    assert client.post("/oauth2/revoke", data={"token": access_token}, auth=own).status_code == 200
    assert client.post("/oauth2/revoke", data={"token": "x" * 64}, auth=own).status_code == 200
    missing = client.post("/oauth2/revoke", data={}, auth=own)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["revocation_endpoint"] == f"{ISSUER}/oauth2/revoke"
    assert metadata["introspection_endpoint"] == f"{ISSUER}/oauth2/introspect"


def offline_tokens(client: TestClient, registered: NewClient) -> dict:
    """Sign in for scope offline_access: the consent page every time (OpenID Connect Core 11)."""
    verifier = new_verifier()
    params = authorize_params(registered, verifier, scope="openid email offline_access")
    page = client.get("/oauth2/authorize", params=params)
    assert page.status_code == 200
    assert "while you are signed out" in page.text
    code = redirect_params(consent(client, params))["code"]
    response = exchange(client, registered, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def refresh(client: TestClient, registered: NewClient, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return client.post(
        "/oauth2/token", data=data, auth=(registered.client.client_id, registered.secret)
    )


def test_refresh_tokens_rotate_and_a_reused_one_revokes_its_family(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = add_client(client)
    user_id = sign_in(client)
    first = offline_tokens(client, registered)
    assert first["refresh_token"] and first["scope"] == "openid email offline_access"
    # Consent was given, yet offline access asks again; prompt=none cannot.
    params = authorize_params(registered, new_verifier(), scope="openid offline_access")
    assert client.get("/oauth2/authorize", params=params).status_code == 200
    silent = client.get("/oauth2/authorize", params={**params, "prompt": "none"})
    assert redirect_params(silent)["error"] == "consent_required"

    second = refresh(client, registered, first["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert userinfo(client, rotated["access_token"]).json()["sub"] == user_id
    # Narrower scope on refresh is allowed, wider is not.
    wider = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"],
             "scope": "openid profile"}  # fmt: skip
    auth = (registered.client.client_id, registered.secret)
    assert client.post("/oauth2/token", data=wider, auth=auth).json()["error"] == "invalid_scope"

    # The first refresh token again: it leaked. Refused, and its whole family ends.
    reused = refresh(client, registered, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert userinfo(client, rotated["access_token"]).status_code == 401
    assert userinfo(client, first["access_token"]).status_code == 401
    assert refresh(client, registered, rotated["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_tokens_end_with_the_session_and_by_rfc_7009(https_client: TestClient) -> None:
    client = https_client
    registered, other = add_client(client), add_client(client)
    sign_in(client)
    tokens = offline_tokens(client, registered)
    # Another client cannot use it, and presenting it burns the family.
    stolen = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert (
        client.post(
            "/oauth2/token", data=stolen, auth=(other.client.client_id, other.secret)
        ).json()["error"]
        == "invalid_grant"
    )
    assert userinfo(client, tokens["access_token"]).status_code == 401

    tokens = offline_tokens(client, registered)
    own = (registered.client.client_id, registered.secret)
    revoked = client.post(
        "/oauth2/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=own,
    )
    assert revoked.status_code == 200
    assert userinfo(client, tokens["access_token"]).status_code == 401
    assert refresh(client, registered, tokens["refresh_token"]).json()["error"] == "invalid_grant"

    tokens = offline_tokens(client, registered)
    end_by_sign_out_everywhere(client)
    assert refresh(client, registered, tokens["refresh_token"]).json()["error"] == "invalid_grant"


LOGOUT_CALLBACK = "https://rp.example.com/signed-out"


def test_rp_initiated_logout_with_the_users_id_token_ends_the_session(
    https_client: TestClient,
) -> None:
    client = https_client
    registered = client.app.state.oidc.add_client(
        "Example RP", [CALLBACK], False, post_logout_redirect_uris=[LOGOUT_CALLBACK]
    )
    sign_in(client)
    verifier = new_verifier()
    code = get_code(client, registered, verifier)
    tokens = exchange(client, registered, code, verifier).json()
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["end_session_endpoint"] == f"{ISSUER}/oauth2/logout"

    # An unregistered URI, or a forged hint: an error page here, nothing ends.
    for params in (
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": CALLBACK},
        {"id_token_hint": tokens["id_token"][:-4] + "AAAA"},
        {"client_id": "no-such-client"},
        {"post_logout_redirect_uri": LOGOUT_CALLBACK},  # no client named
    ):
        refused = client.get("/oauth2/logout", params=params)
        assert refused.status_code == 400, params
        assert "location" not in refused.headers
    assert client.get("/api/v1/me").status_code == 200

    # By POST (a relying party's form, no CSRF token), with the signed-in user's ID token.
    done = client.post(
        "/oauth2/logout",
        data={"id_token_hint": tokens["id_token"], "state": "bye",
              "post_logout_redirect_uri": LOGOUT_CALLBACK},
    )  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"{LOGOUT_CALLBACK}?state=bye"
    assert client.get("/api/v1/me").status_code == 401
    assert userinfo(client, tokens["access_token"]).status_code == 401


def test_rp_initiated_logout_without_a_hint_asks_the_user(https_client: TestClient) -> None:
    client = https_client
    registered = client.app.state.oidc.add_client(
        "Example RP", [CALLBACK], False, post_logout_redirect_uris=[LOGOUT_CALLBACK]
    )
    sign_in(client)
    params = {"client_id": registered.client.client_id, "post_logout_redirect_uri": LOGOUT_CALLBACK,
              "state": "s1"}  # fmt: skip
    page = client.get("/oauth2/logout", params=params)
    assert page.status_code == 200
    assert "Sign out of face_auth too?" in page.text
    assert client.get("/api/v1/me").status_code == 200  # nothing ended yet
    confirm_path = "/oauth2/logout/confirm"
    forged = client.post(confirm_path, params=params, data={"decision": "logout"})
    assert forged.status_code == 403
    assert client.get("/api/v1/me").status_code == 200

    stay = client.post(
        confirm_path,
        params=params,
        data={"decision": "stay", "csrf_token": client.get("/api/v1/csrf").json()["csrf_token"]},
    )
    assert stay.headers["location"] == f"{LOGOUT_CALLBACK}?state=s1"
    assert client.get("/api/v1/me").status_code == 200
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    out = client.post(confirm_path, params=params, data={"decision": "logout", "csrf_token": token})
    assert out.headers["location"] == f"{LOGOUT_CALLBACK}?state=s1"
    assert client.get("/api/v1/me").status_code == 401
    # Signed out already: straight back.
    again = client.get("/oauth2/logout", params=params)
    assert again.headers["location"] == f"{LOGOUT_CALLBACK}?state=s1"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/oauth2/token", {"data": {"grant_type": "refresh_token"}}),
        ("post", "/oauth2/token", {"data": {"grant_type": "refresh_token", "refresh_token": ""}}),
        ("post", "/oauth2/token", {"data": {"grant_type": "refresh_token",
                                            "refresh_token": "x" * 5000}}),
        ("post", "/oauth2/token", {"data": {"grant_type": "authorization_code",
                                            "code": "é" * 3000}}),
        ("post", "/oauth2/token", {"content": b"\xff\xfe", "headers": {
            "Content-Type": "application/x-www-form-urlencoded"}}),
        ("post", "/oauth2/token", {"json": {"grant_type": "authorization_code"}}),
        ("post", "/oauth2/revoke", {"data": {"token": "x", "token_type_hint": "id_token"}}),
        ("post", "/oauth2/revoke", {"data": {}}),
        ("post", "/oauth2/introspect", {"data": {"token": "x" * 5000}}),
        ("get", "/oauth2/userinfo", {"headers": {"Authorization": "Bearer"}}),
        ("get", "/oauth2/userinfo", {"headers": {"Authorization": "Basic Zm9vOmJhcg=="}}),
        ("get", "/oauth2/userinfo", {"headers": {"Authorization": "Bearer " + "x" * 5000}}),
        ("post", "/oauth2/userinfo", {"data": {"access_token": ""}}),
        ("get", "/oauth2/logout", {"params": {"id_token_hint": "not.a.jwt"}}),
        ("get", "/oauth2/logout", {"params": {"id_token_hint": "x" * 9000}}),
        ("post", "/oauth2/logout", {"files": {"id_token_hint": ("a.txt", b"x")}}),
        ("post", "/oauth2/authorize", {"files": {"client_id": ("a.txt", b"x")}}),
        ("get", "/oauth2/authorize", {"params": {"client_id": "x" * 5000}}),
        ("get", "/oauth2/authorize", {"params": {"fa_reauth": "99999999999999999999"}}),
        ("options", "/oauth2/token", {"headers": {"Origin": "x" * 5000}}),
    ],
)  # fmt: skip
def test_malformed_requests_get_a_4xx_never_a_5xx(
    https_client: TestClient, method: str, path: str, kwargs: dict
) -> None:
    add_client(https_client)
    response = getattr(https_client, method)(path, **kwargs)
    assert response.status_code < 500, response.text
    if response.headers.get("content-type", "").startswith("application/json") and (
        response.status_code >= 400
    ):
        assert "error" in response.json()
