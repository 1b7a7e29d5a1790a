"""Security headers on every kind of response, and /docs without a CDN."""

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app import create_app
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from tests.api.test_login import create_user, login
from tests.support import PASSWORD

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/auth/login"),
        ("GET", "/api/v1/csrf"),
        ("GET", "/api/v1/me"),  # 401
        ("GET", "/nowhere"),  # 404 page
        ("GET", "/static/css/style.css"),
        ("POST", "/api/v1/sessions"),  # 403 without CSRF
        ("GET", "/healthz"),
        ("GET", "/docs"),
    ],
)
def test_every_response_carries_the_headers(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    for name, value in EXPECTED.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert "strict-transport-security" not in response.headers  # plain http


def test_hsts_only_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as https_client:
        hsts = https_client.get("/auth/login").headers["strict-transport-security"]
    assert "max-age=31536000" in hsts


def test_docs_load_swagger_from_this_site(client: TestClient) -> None:
    page = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/") for source in sources)
    assert "<script>" not in page  # no inline script: the CSP would block it
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert client.get("/openapi.json").json()["info"]["title"] == "face_auth"


def test_docs_can_be_turned_off(settings: Settings) -> None:
    hidden = settings.model_copy(update={"api_docs": False})
    with TestClient(create_app(hidden)) as quiet:
        assert quiet.get("/docs").status_code == 404
        assert quiet.get("/openapi.json").status_code == 404


def test_docs_show_the_error_answers_of_every_api_operation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in methods.items()
    ]
    assert len(operations) >= 10
    for path, method, operation in operations:
        for status in ("401", "403", "422", "429", "503"):
            assert status in operation["responses"], (method, path, status)
        described = operation["responses"]["429"]["description"]
        assert "too_many_attempts" in described and "face_held" in described
        body = operation["responses"]["401"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith("/ErrorOut")


def test_nothing_answered_to_a_signed_in_request_may_be_stored(client: TestClient) -> None:
    """After logout, the Back button must not show the account page (name, email, phone)
    from the browser's cache: every response to an authenticated request says no-store."""
    create_user(client, "nostore")
    login(client, "user_nostore@example.com", PASSWORD)
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    issued = client.app.state.tokens.issue(user_id, ["pwd", "face"], timedelta(minutes=30))
    client.cookies.clear()  # one access cookie, the full session's
    client.cookies.set(ACCESS_COOKIE, issued.token)
    page = client.get("/application/")
    assert page.status_code == 200 and "user_nostore@example.com" in page.text
    for response in (page, client.get("/api/v1/me"), client.get("/api/v1/face"),
                     client.get("/auth/password"), client.get("/api/v1/application")):  # fmt: skip
        assert response.headers["cache-control"] == "no-store", response.url
        assert response.headers["pragma"] == "no-cache", response.url
    bearer = client.get("/oauth2/userinfo", headers={"Authorization": "Bearer x"})
    assert bearer.headers["cache-control"] == "no-store"
    # Static files stay cacheable, cookie or not.
    assert "no-store" not in client.get("/static/css/style.css").headers.get("cache-control", "")
