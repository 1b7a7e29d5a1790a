from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from controller.deps import AccountsDep, ClaimsDep, FacesDep, OptionalClaimsDep
from controller.rendering import render
from controller.steps import PAGE_FOR_STEP
from face_auth.constant import NEXT_ENROLL_FACE, NEXT_VERIFY_FACE

router = APIRouter(tags=["pages"])


@router.get("/")
def home(request: Request, accounts: AccountsDep, claims: OptionalClaimsDep) -> Response:
    next_page = PAGE_FOR_STEP[accounts.next_step(claims)] if claims else None
    return render(request, "home.html", {"next_page": next_page})


@router.get("/application/")
def application(
    request: Request, accounts: AccountsDep, claims: ClaimsDep, face_deleted: bool = False
) -> Response:
    accounts.require_full_session(claims)
    user = accounts.current_user(claims)
    context = {
        "user": user,
        "expires_at": claims.exp,
        "has_face": accounts.has_face_template(user.id),
        "face_deleted": face_deleted,
    }
    return render(request, "application.html", context)


@router.get("/application")
def application_without_slash() -> Response:
    return RedirectResponse("/application/", status_code=307)


def face_page(request: Request, mode: str, faces: FacesDep) -> Response:
    policy = faces.policy
    required = policy.enroll_min_frames if mode == "enroll" else policy.verify_min_frames
    return render(
        request, "face.html", {"mode": mode, "frames": policy.frames, "required": required}
    )


@router.get("/application/face/enroll")
def face_enroll_page(
    request: Request, accounts: AccountsDep, faces: FacesDep, claims: ClaimsDep
) -> Response:
    if not claims.is_full and accounts.has_face_template(claims.sub):
        return RedirectResponse(PAGE_FOR_STEP[NEXT_VERIFY_FACE], status_code=303)
    return face_page(request, "enroll", faces)


@router.get("/application/face/verify")
def face_verify_page(
    request: Request, accounts: AccountsDep, faces: FacesDep, claims: ClaimsDep
) -> Response:
    if not accounts.has_face_template(claims.sub):
        return RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLL_FACE], status_code=303)
    return face_page(request, "verify", faces)


@router.post("/application/face/delete")
def face_delete(faces: FacesDep, claims: ClaimsDep) -> Response:
    faces.delete(claims)
    return RedirectResponse("/application/?face_deleted=1", status_code=303)
