"""Rules of the OpenID Connect provider that need no server: where a sign-in may return to,
which redirect URIs may be registered, and the signing key ring's rotation."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from face_auth.business_val.oidc.rules import redirect_uri_problem, safe_return_to
from face_auth.business_val.oidc.signing_keys import CLOCK_LEEWAY, SigningKeys, new_key
from face_auth.utils import utc_now


@pytest.mark.parametrize(
    "value",
    [
        "/oauth2/authorize",
        "/oauth2/authorize?response_type=code&client_id=abc&redirect_uri=https%3A%2F%2Fx.example",
    ],
)
def test_a_sign_in_returns_to_the_authorization_endpoint(value: str) -> None:
    assert safe_return_to(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example.com/oauth2/authorize",
        "//evil.example.com/oauth2/authorize",
        "///evil.example.com/oauth2/authorize",
        "/\\evil.example.com",
        "\\\\evil.example.com/oauth2/authorize",
        "/oauth2/authorize/../../application/",
        "/oauth2/authorizex",
        "/application/",
        "oauth2/authorize",
        "javascript:alert(1)//oauth2/authorize",
        "/oauth2/authorize\nSet-Cookie: x=1",
        "/oauth2/authorize\t",
        "/oauth2/authorize#x",
        "/oauth2/authorize?" + "a" * 5000,
    ],
)
def test_nothing_else_is_a_place_to_return_to(value: str | None) -> None:
    assert safe_return_to(value) is None


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/callback",
        "https://app.example.com:8443/oidc/callback?tenant=1",
        "http://127.0.0.1:8765/callback",
        "http://localhost/callback",
        "http://[::1]:9000/cb",
    ],
)
def test_https_or_loopback_http_redirect_uris_are_accepted(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example.com/callback",
        "http://10.0.0.5/callback",
        "http://localhost.evil.example.com/callback",
        "https://app.example.com/callback#fragment",
        "https://user:pass@app.example.com/callback",
        "/callback",
        "javascript:alert(1)",
        "com.example.app:/callback",
        "https:///callback",
        "https://app.example.com/call back",
        "",
    ],
)
def test_other_redirect_uris_are_refused(uri: str) -> None:
    assert redirect_uri_problem(uri) is not None


def test_the_key_ring_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "oidc_keys.json"
    keys = SigningKeys(path, timedelta(minutes=10))
    rsa, ec = keys.current("RS256"), keys.current("ES256")
    assert keys.current().kid == rsa.kid  # RS256 unless a client asks for ES256
    assert (path.stat().st_mode & 0o777) == 0o600
    again = SigningKeys(path, timedelta(minutes=10))  # another process
    assert [key.kid for key in again.current_keys()] == [rsa.kid, ec.kid]
    published = keys.jwks()["keys"]
    assert [(key["kid"], key["alg"]) for key in published] == [
        (rsa.kid, "RS256"),
        (ec.kid, "ES256"),
    ]
    assert all(not {"d", "p", "q", "dp", "dq", "qi"} & set(key) for key in published)


def test_a_ring_of_es256_keys_only_gains_an_rs256_key_and_keeps_its_own(tmp_path: Path) -> None:
    """A key file written before RS256 was supported: its ES256 key keeps signing ES256."""
    path = tmp_path / "oidc_keys.json"
    old = new_key("ES256", utc_now())
    path.write_text(json.dumps({"keys": [old.as_record()]}))
    keys = SigningKeys(path, timedelta(minutes=10))
    assert keys.current("ES256").kid == old.kid
    assert keys.current("RS256").key.key_type == "RSA"
    assert len(json.loads(path.read_text())["keys"]) == 2
    assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_rotation_keeps_the_old_public_key_until_its_tokens_have_expired(
    tmp_path: Path, alg: str
) -> None:
    path = tmp_path / "oidc_keys.json"
    lifetime = timedelta(minutes=10)
    keys = SigningKeys(path, lifetime)
    old = keys.current(alg)
    token = jwt.encode({"alg": alg}, {"sub": "1"}, keys.signing_set(alg), [alg])

    now = utc_now()
    fresh = keys.rotate(now)
    assert [key.alg for key in fresh] == ["RS256", "ES256"]
    new = keys.current(alg)
    assert new.kid in {key.kid for key in fresh} and new.kid != old.kid
    assert (path.stat().st_mode & 0o777) == 0o600
    # The running app (its own instance) sees the rotation without a restart.
    assert len(keys.jwks(now)["keys"]) == 4
    published = KeySet.import_key_set(keys.jwks(now))
    assert jwt.decode(token, published, algorithms=[alg]).claims == {"sub": "1"}

    later = now + lifetime + CLOCK_LEEWAY + timedelta(seconds=1)
    assert {key["kid"] for key in keys.jwks(later)["keys"]} == {key.kid for key in fresh}
    keys.rotate(later)  # drops the expired keys from the file
    stored = json.loads(path.read_text())["keys"]
    assert old.kid not in {record["jwk"]["kid"] for record in stored}
    assert len(stored) == 4
