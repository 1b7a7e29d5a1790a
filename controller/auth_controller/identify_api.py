"""Identify mode (1:N) over HTTP: a kiosk's challenge and identify calls (bearer token of a
registered kiosk, never a user's session), and a user's consent (API and the account page's
toggle). With identify mode off, every route here answers 404."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from controller.auth_controller.face_api import FRAMES_BODY
from controller.deps import ClaimsDep, FaceRunnerDep, SettingsDep
from controller.uploads import read_face_upload
from face_auth.business_val.identify.service import IdentifyService
from face_auth.entity import SessionClaims
from face_auth.entity.kiosk import Kiosk
from face_auth.exception import NotFound

router = APIRouter(tags=["identify"])


def get_identify(request: Request) -> IdentifyService:
    """The identify service; 404 (as if there were no such route) when the mode is off."""
    service: IdentifyService | None = getattr(request.app.state, "identify", None)
    if service is None:
        raise NotFound("There is nothing at this address.")
    return service


IdentifyDep = Annotated[IdentifyService, Depends(get_identify)]


def get_kiosk(request: Request, identify: IdentifyDep) -> Kiosk:
    """The kiosk of `Authorization: Bearer <kiosk token>`; cookies are never looked at."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return identify.authenticate(token.strip() if scheme.lower() == "bearer" else None)


KioskDep = Annotated[Kiosk, Depends(get_kiosk)]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consent: bool


@router.post("/api/v1/identify/challenge")
def identify_challenge(kiosk: KioskDep, identify: IdentifyDep) -> dict[str, object]:
    """A liveness challenge for this kiosk's next identify call, as for a verification:
    `nonce` (single use, bound to this kiosk), the `action` to show, the `frames` to capture
    `interval_ms` apart. With liveness off or passive, `nonce` and `action` are null."""
    return identify.challenge(kiosk).as_dict()


@router.post(
    "/api/v1/identify",
    description="The frames of a verification (and the kiosk challenge's `nonce`), from a "
    'registered kiosk (`Authorization: Bearer <kiosk token>`). Answers `{"match": {"user_id", '
    '"name"}}` for a user who opted in, else `{"match": null}`; never a score.',
    openapi_extra=FRAMES_BODY,
)
async def identify_frames(
    request: Request,
    kiosk: KioskDep,
    identify: IdentifyDep,
    runner: FaceRunnerDep,
    settings: SettingsDep,
) -> dict[str, object]:
    await run_in_threadpool(identify.admit, kiosk)
    with runner.slot():
        upload = await read_face_upload(request, identify.max_frames, settings.face_max_frame_bytes)
        decision = await runner.run(identify.identify, kiosk, upload.frames, upload.nonce)
    return decision.as_dict()


@router.get("/api/v1/identify/consent")
def consent_status(claims: ClaimsDep, identify: IdentifyDep) -> dict[str, object]:
    """Whether kiosks may recognise the signed-in user (needs a full session)."""
    return identify.consent(claims).as_dict()


@router.put("/api/v1/identify/consent")
def set_consent(body: ConsentIn, claims: ClaimsDep, identify: IdentifyDep) -> dict[str, object]:
    """Let kiosks recognise the signed-in user (`{"consent": true}`, needs an enrolled face),
    or stop them at once (`false`). Deleting the face also withdraws it."""
    return identify.set_consent(claims, body.consent).as_dict()


@router.post("/application/identify")
def consent_form(
    claims: ClaimsDep,
    identify: IdentifyDep,
    consent: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The account page's toggle."""
    identify.set_consent(claims, consent == "on")
    return RedirectResponse("/application/#identify", status_code=303)


def consent_for_page(request: Request, claims: SessionClaims) -> dict[str, object] | None:
    """What the account page shows of identify mode; None when it is off."""
    service: IdentifyService | None = getattr(request.app.state, "identify", None)
    return None if service is None else service.consent(claims).as_dict()
