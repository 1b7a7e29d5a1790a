from fastapi import APIRouter
from pydantic import BaseModel

from controller.auth_controller.api import UserOut
from controller.deps import AccountsDep, ClaimsDep

router = APIRouter(prefix="/api/v1", tags=["application"])


class ApplicationOut(BaseModel):
    user: UserOut
    factors: list[str]


@router.get("/application")
def application(accounts: AccountsDep, claims: ClaimsDep) -> ApplicationOut:
    """The protected resource: only a session with both factors may read it."""
    accounts.require_full_session(claims)
    return ApplicationOut(user=UserOut.of(accounts.current_user(claims)), factors=list(claims.amr))
