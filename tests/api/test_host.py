"""The public origin comes from configuration: a request for another Host is refused, the
OpenID Connect issuer never follows a Host header, and X-Forwarded-* is believed only from
the configured proxies."""

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app import proxy_options
from face_auth.config import Settings
from tests.support import running_app


@pytest.mark.parametrize("path", ["/", "/auth/login", "/.well-known/openid-configuration",
                                  "/api/v1/csrf", "/healthz"])  # fmt: skip
def test_a_foreign_host_is_refused(client: TestClient, path: str) -> None:
    for host in ("evil.example", "testserver.evil.example", "evil.example:80"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (path, host)
        assert "issuer" not in response.text


def test_the_loopback_addresses_make_run_prints_are_answered(client: TestClient) -> None:
    for host in ("127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000"):
        assert client.get("/auth/login", headers={"Host": host}).status_code == 200, host


def test_the_issuer_is_configured_never_taken_from_the_host(client: TestClient) -> None:
    """Discovery is cached publicly for 5 minutes: a Host header must not change it."""
    for host in ("localhost:8000", "127.0.0.1"):
        metadata = client.get("/.well-known/openid-configuration", headers={"Host": host})
        assert metadata.json()["issuer"] == "http://testserver"
        assert metadata.json()["jwks_uri"] == "http://testserver/oauth2/jwks"


def test_defaults_keep_make_run_working_and_trust_no_proxy() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.public_origin == "http://127.0.0.1:8000"
    assert defaults.issuer == "http://127.0.0.1:8000"
    assert {"127.0.0.1", "localhost"} <= set(defaults.trusted_hosts)
    assert proxy_options(defaults) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    behind = Settings(_env_file=None, public_url="https://auth.example.com/",  # type: ignore[call-arg]
                      forwarded_allow_ips="10.0.0.5")  # fmt: skip
    assert behind.issuer == "https://auth.example.com"
    assert "auth.example.com" in behind.trusted_hosts
    assert proxy_options(behind) == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5"}


@pytest.mark.slow
def test_x_forwarded_for_from_loopback_is_not_believed(
    settings: Settings, mongo: MongoClient, tmp_path: object
) -> None:
    """uvicorn's default trusts X-Forwarded-For from loopback: a client that reaches the app
    port would pick its own address (and dodge the per-client limits). /metrics, open to this
    machine's clients only (no token here), shows whose address the app believes."""
    assert settings.mongodb_uri is not None
    env = {"MONGODB_URI": settings.mongodb_uri.get_secret_value(),
           "FACE_AUTH_DATABASE_NAME": settings.database_name,
           "FACE_AUTH_DATA_DIR": str(settings.data_dir),
           "FACE_AUTH_JWT_SECRET": settings.jwt_secret.get_secret_value()}  # type: ignore[union-attr]  # fmt: skip
    with running_app(env, settings.data_dir.parent / "app.log") as base_url:
        forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        response = httpx.get(f"{base_url}/metrics", headers=forged, timeout=30)
        assert response.status_code == 200
        page = httpx.get(f"{base_url}/auth/login", headers=forged, timeout=30)
        assert "strict-transport-security" not in page.headers  # still plain http
