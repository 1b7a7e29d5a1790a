"""Schemathesis fuzzes every /api/v1 operation from the app's own OpenAPI schema: whatever it
sends, the answer is never a server error (a 503 from a full pool aside, which says
Retry-After) and never a stack trace."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from urllib3 import encode_multipart_formdata

from app import create_app
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE, CSRF_HEADER
from tests.api.test_login import create_user, login
from tests.support import PASSWORD

pytestmark = pytest.mark.fuzz
EXAMPLES = 12  # per operation: bounded, so the whole run takes about a minute

# The schema comes from the app itself; building the app needs no database.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi()).include(
    path_regex="^/api/v1/"
)


@pytest.fixture
def signed_in(client: TestClient) -> str:
    """A full session and this session's CSRF token, so the fuzzer reaches the handlers."""
    user = create_user(client, "fuzz")
    assert login(client, user["email"], PASSWORD).status_code == 200
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    issued = client.app.state.tokens.issue(user_id, ["pwd", "face"], timedelta(minutes=30))
    client.cookies.clear()  # one access cookie, the full session's
    client.cookies.set(ACCESS_COOKIE, issued.token)
    return client.get("/api/v1/csrf").json()["csrf_token"]


def multipart_fields(files: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = []
    for name, (filename, raw) in files:
        value = raw if isinstance(raw, bytes) else str(raw)
        fields.append((name, (filename, value)) if filename else (name, value))
    return fields


def send(client: TestClient, case: schemathesis.Case, csrf_token: str) -> httpx.Response:
    """The generated request, through the app under test (with its cookies)."""
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=str(client.base_url))
    kwargs.pop("cookies", None)
    headers = {**kwargs.pop("headers", {}), CSRF_HEADER: csrf_token}
    data = kwargs.pop("data", None)
    files = kwargs.pop("files", None)
    if files:  # requests' (name, (filename, value)) parts, encoded as requests would
        body, content_type = encode_multipart_formdata(multipart_fields(files))
        headers["Content-Type"] = content_type
        kwargs["content"] = body
    elif isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    return client.request(kwargs.pop("method"), kwargs.pop("url"), headers=headers, **kwargs)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_a_server_error(
    case: schemathesis.Case, client: TestClient, signed_in: str
) -> None:
    response = send(client, case, signed_in)
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code == 503:
        assert response.headers.get("retry-after")
    assert "Traceback" not in response.text
