"""The OpenID Connect provider's protocol rules, read once in business_val.oidc.rules and tested
here without HTTP: client authentication per endpoint, PKCE, state, what an authorization
request may carry, prompt=login and max_age, scopes, consent and token lifetimes."""

from datetime import timedelta

import pytest

from face_auth.business_val.oidc.rules import (
    ENDPOINT_AUTH_METHODS,
    OFFLINE_ACCESS,
    PUBLIC_AUTH_METHOD,
    SECRET_AUTH_METHODS,
    OidcPolicy,
    OidcService,
    authorization_request_problem,
    client_auth_methods,
    is_loopback_host,
    must_sign_in_again,
    origin_problem,
    parse_max_age,
    pkce_problem,
    scopes_of,
    state_problem,
    token_hash,
)
from face_auth.entity.oidc import OAuthClient
from face_auth.utils import utc_now

CONFIDENTIAL = OAuthClient(
    client_id="app",
    name="App",
    redirect_uris=("https://app.example/cb",),
    public=False,
    secret_hash="x",
    created_at=utc_now(),
)


def public_client() -> OAuthClient:
    return CONFIDENTIAL.model_copy(update={"public": True, "secret_hash": None})


def test_confidential_clients_authenticate_with_their_secret_only() -> None:
    assert client_auth_methods(CONFIDENTIAL) == SECRET_AUTH_METHODS
    assert not OidcService.may_authenticate_with(CONFIDENTIAL, PUBLIC_AUTH_METHOD)


def test_public_clients_do_not_authenticate() -> None:
    assert client_auth_methods(public_client()) == (PUBLIC_AUTH_METHOD,)
    assert not OidcService.may_authenticate_with(public_client(), "client_secret_basic")


def test_revocation_accepts_what_the_token_endpoint_does() -> None:
    assert ENDPOINT_AUTH_METHODS["revocation"] == ENDPOINT_AUTH_METHODS["token"]
    assert PUBLIC_AUTH_METHOD in ENDPOINT_AUTH_METHODS["token"]


def test_introspection_is_for_confidential_clients_only() -> None:
    assert ENDPOINT_AUTH_METHODS["introspection"] == SECRET_AUTH_METHODS


def test_pkce_is_required() -> None:
    assert pkce_problem(None, None) == "PKCE is required: send a 'code_challenge' (S256)."
    assert pkce_problem("", "S256") is not None


@pytest.mark.parametrize("method", [None, "plain", "s256"])
def test_pkce_is_s256_only(method: str | None) -> None:
    assert pkce_problem("challenge", method) == "'code_challenge_method' must be S256."


def test_pkce_s256_passes() -> None:
    assert pkce_problem("challenge", "S256") is None


def test_state_is_optional_under_pkce_s256() -> None:
    assert state_problem(None, "S256") is None


def test_state_is_required_without_pkce() -> None:
    assert state_problem(None, None) == "The 'state' parameter is required without PKCE (S256)."
    assert state_problem("xyz", None) is None


VALID = {"scope": "openid profile", "state": "s", "code_challenge_method": "S256"}


def test_a_valid_authorization_request_passes() -> None:
    assert authorization_request_problem(VALID) is None


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"request": "eyJ..."}, "request_not_supported"),
        ({"request_uri": "https://x.example/r"}, "request_uri_not_supported"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "ten"}, "invalid_request"),
        ({"scope": "profile email"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"state": "", "code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_authorization_request_problems_name_their_oauth_error(
    extra: dict[str, str], error: str
) -> None:
    problem = authorization_request_problem({**VALID, **extra})
    assert problem is not None
    assert problem.error == error
    assert problem.message


@pytest.mark.parametrize(("value", "seconds"), [(None, None), ("", None), ("0", 0), ("600", 600)])
def test_max_age_is_seconds(value: str | None, seconds: int | None) -> None:
    assert parse_max_age(value) == seconds


@pytest.mark.parametrize("value", ["-5", "1.5", "\uff11\uff12", "12345678901"])
def test_max_age_must_be_a_plain_number(value: str) -> None:
    with pytest.raises(ValueError, match="max_age"):
        parse_max_age(value)


NOW = utc_now()


def test_a_recent_sign_in_needs_no_new_one() -> None:
    assert not must_sign_in_again(prompts=set(), max_age=600,
                                  auth_time=NOW - timedelta(seconds=60),
                                  sent_to_sign_in_at=None, now=NOW)  # fmt: skip


def test_a_sign_in_older_than_max_age_needs_a_new_one() -> None:
    assert must_sign_in_again(prompts=set(), max_age=30, auth_time=NOW - timedelta(seconds=60),
                              sent_to_sign_in_at=None, now=NOW)  # fmt: skip


def test_prompt_login_needs_a_new_sign_in() -> None:
    assert must_sign_in_again(prompts={"login"}, max_age=None, auth_time=NOW,
                              sent_to_sign_in_at=None, now=NOW)  # fmt: skip


def test_a_sign_in_since_we_sent_the_user_answers_prompt_login() -> None:
    sent = str(int(NOW.timestamp()) - 5)
    assert not must_sign_in_again(prompts={"login"}, max_age=0, auth_time=NOW,
                                  sent_to_sign_in_at=sent, now=NOW)  # fmt: skip


def test_only_a_sign_in_since_we_sent_the_user_answers() -> None:
    sent = str(int(NOW.timestamp()))
    assert must_sign_in_again(prompts=set(), max_age=None, auth_time=NOW - timedelta(hours=1),
                              sent_to_sign_in_at=sent, now=NOW)  # fmt: skip


def test_scopes_are_known_ones_in_our_order() -> None:
    assert scopes_of("email openid unknown profile") == ("openid", "profile", "email")
    assert scopes_of(None) == ()
    assert OFFLINE_ACCESS in scopes_of("openid offline_access")


POLICY = OidcPolicy(
    code_lifetime=timedelta(seconds=60),
    access_token_lifetime=timedelta(minutes=10),
    id_token_lifetime=timedelta(minutes=5),
    refresh_token_lifetime=timedelta(days=30),
)


def test_access_tokens_expire_in_their_lifetime() -> None:
    assert POLICY.access_token_seconds == 600


def test_id_tokens_expire_their_lifetime_after_issue() -> None:
    assert POLICY.id_token_expiry(1_000_000) == 1_000_300


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.0.0.1", True), ("::1", True), ("example.com", False),
     ("10.0.0.1", False), (None, False), ("", False)],
)  # fmt: skip
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("origin", "ok"),
    [("https://app.example", True), ("http://localhost:3000", True),
     ("https://app.example/", False), ("https://App.example", False),
     ("http://app.example", False), ("https://app.example/path", False)],
)  # fmt: skip
def test_cors_origins_are_exact_origins(origin: str, ok: bool) -> None:
    assert (origin_problem(origin) is None) is ok


def test_secrets_and_codes_are_stored_hashed() -> None:
    assert token_hash("code") == token_hash("code")
    assert token_hash("code") != "code"
    assert len(token_hash("code")) == 64
