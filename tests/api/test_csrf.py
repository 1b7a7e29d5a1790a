import pytest
from fastapi.testclient import TestClient

from app import create_app
from face_auth.config import Settings
from tests.api.test_login import create_user, login
from tests.support import PASSWORD, csrf_headers, registration


@pytest.mark.parametrize("header", [None, "wrong-token"])
def test_api_post_without_matching_csrf_token_is_forbidden(
    client: TestClient, header: str | None
) -> None:
    csrf_headers(client)  # the client now holds a csrf cookie
    headers = {"X-CSRF-Token": header} if header else {}
    response = client.post("/api/v1/users", json=registration("csrf"), headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


def test_csrf_header_without_cookie_is_forbidden(client: TestClient) -> None:
    token = csrf_headers(client)["X-CSRF-Token"]
    client.cookies.clear()
    body = {"email": "x@example.com", "password": PASSWORD}
    assert (
        client.post("/api/v1/sessions", json=body, headers={"X-CSRF-Token": token}).status_code
        == 403
    )


def test_form_post_without_csrf_field_gets_403_page(client: TestClient) -> None:
    client.get("/auth/login")
    response = client.post("/auth/login", data={"email": "x@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "not sent from this site" in response.text


def test_pages_embed_the_cookie_token_in_their_forms(client: TestClient) -> None:
    page = client.get("/auth/register")
    token = page.cookies["csrf_token"]
    assert f'name="csrf_token" value="{token}"' in page.text


def test_cross_site_origin_is_refused_even_with_a_valid_token(client: TestClient) -> None:
    headers = csrf_headers(client)
    body = registration("crosssite")
    for bad in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                {"Referer": "https://evil.example/page"}):  # fmt: skip
        response = client.post("/api/v1/users", json=body, headers={**headers, **bad})
        assert response.status_code == 403, bad
        assert response.json()["error"] == "csrf_failed"
    same = {"Origin": "http://testserver", "Referer": "http://testserver/auth/register"}
    response = client.post("/api/v1/users", json=body, headers={**headers, **same})
    assert response.status_code == 201


def test_a_planted_cookie_with_a_matching_header_is_refused(client: TestClient) -> None:
    client.cookies.set("csrf_token", "attacker-chosen.value")
    headers = {"X-CSRF-Token": "attacker-chosen.value"}
    response = client.post("/api/v1/users", json=registration("planted"), headers=headers)
    assert response.status_code == 403


def test_a_token_of_another_session_is_refused(client: TestClient) -> None:
    create_user(client, "victim")
    anonymous = csrf_headers(client)  # the attacker's own, valid while anonymous
    planted = client.cookies["csrf_token"]
    assert login(client, "user_victim@example.com", PASSWORD).status_code == 200
    client.cookies.set("csrf_token", planted)
    response = client.delete("/api/v1/sessions/current", headers=anonymous)
    assert response.status_code == 403
    # The victim's own page gets a token for its session, which works.
    assert (
        client.delete("/api/v1/sessions/current", headers=csrf_headers(client)).status_code == 204
    )


def test_secure_cookie_takes_the_host_prefix(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as https_client:
        response = https_client.get("/auth/login")
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("__Host-csrf_token=")
    assert "Secure" in set_cookie and "Path=/" in set_cookie and "Domain" not in set_cookie
