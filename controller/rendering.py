from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    templates = request.app.state.templates
    page_context = {"csrf_token": getattr(request.state, "csrf_token", ""), **(context or {})}
    return templates.TemplateResponse(request, template, page_context, status_code=status_code)
