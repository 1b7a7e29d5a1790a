"""Relying-party libraries nobody here wrote sign a user in with face_auth, on their defaults:
panva's openid-client (npm, OpenID Certified; tests/e2e/node/relying_party.mjs is its README's
flow as a small web app) and pyoidc (`oic` on PyPI). The only setting beyond a library's
defaults is openid-client's `allowInsecureRequests`, for http on the loopback interface.

No browser: the test's own HTTP session is the user agent. It signs in with the password and a
real face (frames of the test photos, liveness off as in every test not about liveness),
follows the redirects, answers the consent page, and reads what each relying party got. The
provider runs as a real uvicorn server on a loopback port, in this process (it shares the face
models the test already loaded)."""

import html
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import uvicorn
from oic.oic import Client as PyoidcClient
from oic.oic.message import AuthorizationResponse, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from pymongo import MongoClient

from app import create_app
from face_auth.business_val.oidc.rules import ACR_MULTI_FACTOR
from face_auth.config import Settings
from face_auth.constant import AUDIT_COLLECTION
from tests.e2e.relying_parties import register_client, relying_party
from tests.face_data import PersonFrames
from tests.support import PASSWORD, free_port, registration

pytestmark = [pytest.mark.models, pytest.mark.slow]

# --- The provider, the user, and the node relying party ---------------------------------------


@pytest.fixture
def provider(settings: Settings) -> Iterator[str]:
    """face_auth as a real server on 127.0.0.1, with its issuer configured to that origin."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"oidc_issuer": url}))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "the provider did not start"
        assert time.monotonic() < deadline, "the provider did not start in time"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class UserAgent:
    """The test's HTTP session: one cookie jar, redirects followed by hand."""

    http: httpx.Client
    provider: str
    user_id: str = ""

    def sign_in(self, frames: PersonFrames, suffix: str) -> None:
        """Register, then password and face: enroll after registering, sign out, and sign in
        again with the password and a face verification, as a returning user does."""
        body = registration(suffix)
        api = f"{self.provider}/api/v1"
        created = self.http.post(f"{api}/users", json=body, headers=self.csrf())
        assert created.status_code == 201, created.text
        for step, images in (("enroll", frames.enroll), ("verify", frames.verify)):
            login = {"email": body["email"], "password": PASSWORD}
            assert self.http.post(f"{api}/sessions", json=login, headers=self.csrf()).is_success
            files = [("frames", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
            face = self.http.post(f"{api}/face/{step}", files=files, headers=self.csrf())
            assert face.status_code == 200, face.text
            if step == "enroll":
                logout = self.http.delete(f"{api}/sessions/current", headers=self.csrf())
                assert logout.status_code == 204
        me = self.http.get(f"{api}/me").json()
        assert me["factors"] == ["pwd", "face"]
        self.user_id = me["user"]["id"]

    def csrf(self) -> dict[str, str]:
        token = self.http.get(f"{self.provider}/api/v1/csrf").json()["csrf_token"]
        return {"X-CSRF-Token": token}

    def authorize(self, url: str) -> str:
        """At the provider's authorization endpoint, signed in: allow on the consent page if it
        is shown; return where the provider sends the browser back to."""
        response = self.http.get(url)
        if response.status_code == 200:
            assert "Allow Example RP?" in response.text
            action = re.search(r'<form method="post" action="([^"]+)"', response.text)
            assert action is not None
            target = urljoin(url, html.unescape(action.group(1)))
            token = self.http.get(f"{self.provider}/api/v1/csrf").json()["csrf_token"]
            response = self.http.post(target, data={"csrf_token": token, "decision": "allow"})
        assert response.status_code == 302, response.text
        return response.headers["location"]


@pytest.fixture
def user_agent(provider: str, alice: PersonFrames) -> Iterator[UserAgent]:
    with httpx.Client(follow_redirects=False, timeout=60) as http:
        agent = UserAgent(http=http, provider=provider)
        agent.sign_in(alice, "stock")
        yield agent


def app_env(settings: Settings) -> dict[str, str]:
    """What `face-auth` needs to act on the provider's database."""
    assert settings.mongodb_uri is not None
    return {
        "MONGODB_URI": settings.mongodb_uri.get_secret_value(),
        "FACE_AUTH_DATABASE_NAME": settings.database_name,
        "FACE_AUTH_DATA_DIR": str(settings.data_dir),
    }


@pytest.fixture
def node_relying_party(
    provider: str, settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    log = tmp_path / "relying_party.log"
    with relying_party("openid-client", provider, app_env(settings), log) as running:
        yield running


@pytest.fixture
def authlib_relying_party(
    provider: str, settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    log = tmp_path / "relying_party.log"
    with relying_party("authlib", provider, app_env(settings), log) as running:
        yield running


# --- Helpers -------------------------------------------------------------------------------------


def jwks_key(provider: str, alg: str) -> dict[str, str]:
    keys = httpx.get(f"{provider}/oauth2/jwks").json()["keys"]
    return next(key for key in keys if key["alg"] == alg)


def token_auth_methods(mongo: MongoClient, settings: Settings, client_id: str) -> list[str]:
    """How the client authenticated at the token endpoint, as the audit log recorded it."""
    events = mongo[settings.database_name][AUDIT_COLLECTION].find(
        {"event": "oidc_token_issued", "client_id": client_id}
    )
    return [event["auth_method"] for event in events]


# --- The tests -------------------------------------------------------------------------------


def test_openid_client_signs_in_on_its_defaults(
    user_agent: UserAgent,
    node_relying_party: tuple[str, dict[str, str]],
    provider: str,
    mongo: MongoClient,
    settings: Settings,
) -> None:
    rp, registered = node_relying_party
    start = user_agent.http.get(f"{rp}/login")
    assert start.status_code == 302
    authorize_url = start.headers["location"]
    request = parse_qs(urlsplit(authorize_url).query)
    # openid-client's defaults: PKCE S256 and, since discovery lists S256, no state.
    assert request["code_challenge_method"] == ["S256"]
    assert "state" not in request

    back = user_agent.authorize(authorize_url)
    assert back.startswith(f"{rp}/callback?code=")
    done = user_agent.http.get(back)
    assert done.status_code == 303, done.text
    session = user_agent.http.get(f"{rp}/session.json").json()
    assert session["error"] is None, session["error"]
    user = session["user"]
    # The ID token as openid-client validated it (iss, aud, exp, iat, and its signature with
    # the RS256 key of our JWKS), and userinfo.
    assert user["sub"] == user_agent.user_id
    assert user["email"] == user["userinfo_email"] == "user_stock@example.com"
    assert user["amr"] == "pwd face"
    assert user["acr"] == ACR_MULTI_FACTOR
    assert user["alg"] == "RS256"
    assert user["kid"] == jwks_key(provider, "RS256")["kid"]
    assert user["userinfo"]["sub"] == user_agent.user_id
    assert token_auth_methods(mongo, settings, registered["client_id"]) == ["client_secret_post"]

    # Signed in and consented: the next sign-in asks nothing.
    again = user_agent.authorize(user_agent.http.get(f"{rp}/login").headers["location"])
    assert user_agent.http.get(again).status_code == 303

    # Sign out everywhere at face_auth: the application's access token stops working.
    signed_out = user_agent.http.post(
        f"{provider}/api/v1/sessions/revoke-all", headers=user_agent.csrf()
    )
    assert signed_out.status_code == 204
    access_token = user_agent.http.get(f"{rp}/session.json").json()["user"]["access_token"]
    revoked = httpx.get(
        f"{provider}/oauth2/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    assert revoked.status_code == 401


def test_pyoidc_signs_in_on_its_defaults(
    user_agent: UserAgent, provider: str, settings: Settings, mongo: MongoClient
) -> None:
    callback = "http://127.0.0.1:9/callback"  # never reached: the test reads the redirect
    registered = register_client(app_env(settings), callback)
    rp = PyoidcClient(client_authn_method=CLIENT_AUTHN_METHOD)
    rp.provider_config(provider)  # discovery, and the JWKS into its key jar
    rp.store_registration_info(
        RegistrationResponse(
            client_id=registered["client_id"],
            client_secret=registered["client_secret"],
            redirect_uris=[callback],
        )
    )
    # pyoidc's own PKCE helper (S256); state and nonce as its documentation's flow sends them.
    pkce, verifier = rp.add_code_challenge()
    state, nonce = "pyoidc-state", "pyoidc-nonce"
    request = rp.construct_AuthorizationRequest(
        request_args={
            "client_id": rp.client_id,
            "response_type": "code",
            "scope": ["openid", "profile", "email"],
            "nonce": nonce,
            "redirect_uri": callback,
            "state": state,
            **pkce,
        }
    )
    back = user_agent.authorize(request.request(rp.authorization_endpoint))
    assert back.startswith(callback + "?")

    response = rp.parse_response(
        AuthorizationResponse, info=urlsplit(back).query, sformat="urlencoded"
    )
    assert response["state"] == state
    tokens = rp.do_access_token_request(
        state=state, request_args={"code": response["code"], "code_verifier": verifier}
    )
    # pyoidc verified the ID token's signature with our JWKS, and iss, aud, nonce.
    id_token = tokens["id_token"]
    assert id_token.jws_header["alg"] == "RS256"
    assert id_token.jws_header["kid"] == jwks_key(provider, "RS256")["kid"]
    assert id_token["sub"] == user_agent.user_id
    assert id_token["nonce"] == nonce
    assert id_token["amr"] == ["pwd", "face"]
    assert token_auth_methods(mongo, settings, registered["client_id"]) == ["client_secret_basic"]

    # Userinfo as pyoidc asks by default: POST, the token in the form body.
    info = rp.do_user_info_request(state=state)
    assert isinstance(info, OpenIDSchema), info.to_dict()
    assert info["sub"] == user_agent.user_id
    assert info["email"] == "user_stock@example.com"


def test_authlibs_client_signs_in_as_docs_oidc_md_shows(
    user_agent: UserAgent,
    authlib_relying_party: tuple[str, dict[str, str]],
    provider: str,
    mongo: MongoClient,
    settings: Settings,
) -> None:
    rp, registered = authlib_relying_party
    authorize_url = user_agent.http.get(f"{rp}/login").headers["location"]
    back = user_agent.authorize(authorize_url)
    assert back.startswith(f"{rp}/callback?code=")
    assert user_agent.http.get(back).status_code == 303
    user = user_agent.http.get(f"{rp}/session.json").json()["user"]
    assert user["sub"] == user_agent.user_id
    assert user["email"] == user["userinfo_email"] == "user_stock@example.com"
    assert user["amr"] == "pwd face"
    assert (user["alg"], user["kid"]) == ("RS256", jwks_key(provider, "RS256")["kid"])
    assert token_auth_methods(mongo, settings, registered["client_id"]) == ["client_secret_basic"]
