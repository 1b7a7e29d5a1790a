from fastapi import APIRouter

from controller.deps import AccountsDep, ClaimsDep
from controller.schemas import ApplicationOut, UserOut

router = APIRouter(prefix="/api/v1", tags=["application"])


@router.get("/application")
def application(accounts: AccountsDep, claims: ClaimsDep) -> ApplicationOut:
    """The protected resource: only a session with both factors may read it."""
    accounts.require_full_session(claims)
    return ApplicationOut(user=UserOut.of(accounts.current_user(claims)), factors=list(claims.amr))
