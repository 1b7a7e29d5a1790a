import pytest
from fastapi.testclient import TestClient

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
