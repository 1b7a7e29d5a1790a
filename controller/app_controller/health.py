from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from controller.deps import get_readiness
from face_auth.business_val import ReadinessCheck

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(readiness: Annotated[ReadinessCheck, Depends(get_readiness)]) -> JSONResponse:
    """Liveness: the process answers, and the database server it supervises (embedded mode)
    has not failed for good. Async on purpose: it never waits for a worker thread."""
    alive = readiness.is_alive()
    return JSONResponse(
        {"status": "ok" if alive else "failed", "checks": readiness.liveness()},
        status_code=200 if alive else 503,
    )


@router.get("/readyz")
def readyz(readiness: Annotated[ReadinessCheck, Depends(get_readiness)]) -> JSONResponse:
    checks = readiness.check()
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
