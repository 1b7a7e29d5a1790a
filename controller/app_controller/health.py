from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from controller.deps import get_readiness
from face_auth.business_val import ReadinessCheck

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness only: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(readiness: Annotated[ReadinessCheck, Depends(get_readiness)]) -> JSONResponse:
    checks = readiness.check()
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
