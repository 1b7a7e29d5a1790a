"""The error answers of every /api/v1 operation, documented in the OpenAPI schema (/docs) from
the one table that maps domain errors to statuses (controller/errors.py)."""

from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

from controller.errors import STATUS_FOR_ERROR

API_PREFIX = "/api/v1/"


class ErrorOut(BaseModel):
    """Every error the API answers: a stable machine code and a message to show; some add
    the fields at fault, the next step, the per-frame result or the seconds to wait."""

    error: str
    message: str
    fields: dict[str, str] | None = None
    next: str | None = None
    result: dict[str, Any] | None = None
    retry_after: int | None = None


def error_responses() -> dict[int | str, dict[str, Any]]:
    codes: dict[int, set[str]] = defaultdict(set)
    for error_type, status in STATUS_FOR_ERROR.items():
        codes[status].add(error_type.code)
    codes[422].add("invalid_request")  # a body that does not fit the operation's schema
    return {
        status: {"model": ErrorOut, "description": "error: " + ", ".join(sorted(names))}
        for status, names in sorted(codes.items())
    }


def document_error_responses(router: APIRouter) -> None:
    """Add the error answers to the router's /api/v1 operations (before it is included)."""
    responses = error_responses()
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path.startswith(API_PREFIX):
            route.responses = {**responses, **route.responses}
