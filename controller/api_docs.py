"""/docs: Swagger UI served from the files the fastapi-offline package ships (Swagger UI 5,
which reads FastAPI's OpenAPI 3.1), not from a CDN, so the page needs no third-party script
and passes the same Content-Security-Policy as every other."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"

ASSETS = "/docs-assets"
PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>face_auth API</title>
  <link rel="icon" href="{ASSETS}/favicon.png">
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/static/js/api_docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


def install_api_docs(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_FILES), name="docs-assets")
    app.include_router(router)
