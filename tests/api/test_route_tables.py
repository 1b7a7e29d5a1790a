"""FastAPI builds each included router's route table on the first request that reaches it;
the app builds them all at start-up (app.build_route_tables), so no request pays for it."""

from collections.abc import Iterator

import fastapi.routing
import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

BuiltRoutes = list[BaseRoute]


@pytest.fixture
def tables_built(monkeypatch: pytest.MonkeyPatch) -> Iterator[BuiltRoutes]:
    """The routes FastAPI builds a table entry for from now on."""
    built: BuiltRoutes = []
    original = fastapi.routing._IncludedRouter._build_effective_context

    def counting(self: object, route: BaseRoute) -> object:
        built.append(route)
        return original(self, route)  # type: ignore[arg-type]

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "_build_effective_context", counting)
    yield built


def test_no_request_builds_a_route_table_after_start_up(
    client: TestClient, tables_built: BuiltRoutes
) -> None:
    paths = sorted(client.app.openapi()["paths"])  # type: ignore[attr-defined]
    assert "/api/v1/face/verify" in paths and "/oauth2/token" in paths
    for path in paths:
        concrete = path.replace("{", "").replace("}", "")
        client.get(concrete)
        client.post(concrete)
    assert tables_built == []
