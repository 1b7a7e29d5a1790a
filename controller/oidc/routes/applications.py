"""The account page's list of applications the user granted, and its "revoke"."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.deps import AccountsDep, ClaimsDep
from controller.oidc.deps import OidcDep
from controller.oidc.paths import APPLICATION_REVOKE_PATH
from face_auth.business_val.oidc.rules import OidcService
from face_auth.entity import SessionClaims

router = APIRouter()


@router.post(APPLICATION_REVOKE_PATH)
def revoke_application(
    oidc: OidcDep,
    accounts: AccountsDep,
    claims: ClaimsDep,
    client_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    accounts.require_full_session(claims)
    oidc.revoke_application(claims.sub, client_id)
    return RedirectResponse("/application/?application_revoked=1", status_code=303)


def applications_of(request: Request, claims: SessionClaims) -> list[dict[str, object]]:
    """What the account page lists: each application the user granted, and what it gets."""
    oidc: OidcService = request.app.state.oidc
    return [
        {
            "client_id": grant.client_id,
            "name": grant.client_name,
            "scopes": list(grant.scopes),
            "granted_at": grant.granted_at,
        }
        for grant in oidc.granted_applications(claims.sub)
    ]
