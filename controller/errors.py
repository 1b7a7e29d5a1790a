"""The one place where domain errors become HTTP responses: JSON under /api, pages elsewhere."""

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.body_limit import BodyTooLarge
from controller.rendering import render
from controller.schemas import face_decision_body
from controller.steps import PAGE_FOR_STEP
from face_auth.business_val.face.service import FaceDecision
from face_auth.constant import NEXT_ENROLLMENT_CODE, NEXT_LOGIN
from face_auth.exception import (
    AccountDisabled,
    AccountExists,
    AccountLocked,
    ChallengeRefused,
    CsrfFailed,
    DatabaseUnavailable,
    EmailNotVerified,
    EnrollmentCodeRequired,
    ErrorCode,
    FaceAuthError,
    FaceHeld,
    FaceMismatch,
    FaceRejected,
    FactorRequired,
    IdentifyConsentNeedsFace,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    InvalidLink,
    InvalidToken,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    ServiceBusy,
    TemplateOutdated,
    TooManyAttempts,
    UnsupportedMediaType,
)
from face_auth.logger import get_logger, log_event

logger = get_logger(__name__)

STATUS_FOR_ERROR: dict[type[FaceAuthError], int] = {
    AccountLocked: 429,
    InvalidInput: 422,
    AccountExists: 409,
    AccountDisabled: 403,
    InvalidCredentials: 401,
    NotAuthenticated: 401,
    FactorRequired: 401,
    CsrfFailed: 403,
    NotFound: 404,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    FaceRejected: 422,
    FaceMismatch: 401,
    DatabaseUnavailable: 503,
    ServiceBusy: 503,
    FaceHeld: 429,
    EnrollmentCodeRequired: 403,
    InvalidCode: 401,
    TemplateOutdated: 409,
    IdentifyConsentNeedsFace: 409,
    ChallengeRefused: 400,
    EmailNotVerified: 403,
    InvalidLink: 400,
}

TITLE_FOR_STATUS = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported content",
    429: "Too many attempts",
    422: "Invalid input",
    500: "Something went wrong",
    503: "Service unavailable",
}


# The API's own words where a refusal should name one of its endpoints (the rules layer knows
# no URL): what the face step needs first.
CHALLENGE_REQUIRED_MESSAGE = (
    "A liveness challenge is required: ask for one (POST {endpoint}) and send its nonce with "
    "the frames."
)
# Where each API asks for its challenge: the rules' message names no URL, the API's does.
CHALLENGE_ENDPOINTS = {
    "/api/v1/identify": "/api/v1/identify/challenge",
    "/api/v1/": "/api/v1/face/challenge",
}


def api_message(request: Request, error: FaceAuthError) -> str:
    if error.code != ErrorCode.CHALLENGE_REQUIRED:
        return error.message
    path = request.url.path
    endpoint = next(end for prefix, end in CHALLENGE_ENDPOINTS.items() if path.startswith(prefix))
    return CHALLENGE_REQUIRED_MESSAGE.format(endpoint=endpoint)


def is_api(request: Request) -> bool:
    """Answer in JSON: an API path, unless a browser navigated there (a link, the address
    bar), which gets the error as a page it can show."""
    return request.url.path.startswith("/api/") and not is_navigation(request)


def is_navigation(request: Request) -> bool:
    """A browser loading a page: Sec-Fetch-Mode says so, or (older browsers) a GET whose
    Accept puts HTML first. fetch() and API clients send neither."""
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    accept = request.headers.get("accept", "")
    return request.method == "GET" and accept.startswith("text/html")


def status_for(error: FaceAuthError) -> int:
    for error_type in type(error).__mro__:
        if error_type in STATUS_FOR_ERROR:
            return STATUS_FOR_ERROR[error_type]
    return 400


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": code, "message": message, **extra}


def error_page(request: Request, status_code: int, message: str) -> Response:
    title = TITLE_FOR_STATUS.get(status_code, "Error")
    context = {"title": title, "message": message, "status_code": status_code}
    return render(request, "error.html", context, status_code=status_code)


def api_details(error: FaceAuthError) -> dict[str, object]:
    """What an API client needs beyond code and message: fields, the next step, the result."""
    extra: dict[str, object] = {}
    if isinstance(error, InvalidInput):
        extra["fields"] = error.fields
    if isinstance(error, FactorRequired):
        extra["next"] = error.next_step
    if isinstance(error, TooManyAttempts):
        extra["next"] = NEXT_LOGIN
    if isinstance(error, FaceRejected):
        assert isinstance(error.decision, FaceDecision)
        extra["result"] = {**face_decision_body(error.decision), **error.follow_up}
    if isinstance(error, EnrollmentCodeRequired | TemplateOutdated):
        extra["next"] = NEXT_ENROLLMENT_CODE
    if isinstance(error, FaceHeld):
        extra["retry_after"] = error.retry_after
    return extra


async def handle_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, FaceAuthError)
    status_code = status_for(error)
    level = logging.ERROR if status_code >= HTTPStatus.INTERNAL_SERVER_ERROR else logging.INFO
    log_event(
        logger,
        "request_refused",
        level=level,
        code=error.code,
        status=status_code,
        path=request.url.path,
    )
    if is_api(request):
        response: Response = JSONResponse(
            error_body(error.code, api_message(request, error), **api_details(error)),
            status_code=status_code,
        )
    elif isinstance(error, FactorRequired):
        response = RedirectResponse(PAGE_FOR_STEP[error.next_step], status_code=303)
    elif isinstance(error, TooManyAttempts) and not request.url.path.startswith("/api/"):
        # The login page says why this sign-in ended.
        response = RedirectResponse("/auth/login?tries_spent=1", status_code=303)
    elif isinstance(error, NotAuthenticated) and not request.url.path.startswith("/api/"):
        response = RedirectResponse("/auth/login", status_code=303)
    elif isinstance(error, EnrollmentCodeRequired):
        response = RedirectResponse(PAGE_FOR_STEP[NEXT_ENROLLMENT_CODE], status_code=303)
    else:
        response = error_page(request, status_code, error.message)
    if isinstance(error, ServiceBusy):
        response.headers["Retry-After"] = "2"
    if isinstance(error, FaceHeld | AccountLocked):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, InvalidToken | TooManyAttempts):
        request.app.state.cookies.clear_access(response, request)
    return response


async def handle_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields: dict[str, str] = {}
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part != "body"]
        fields[".".join(location) or "body"] = str(problem.get("msg", "invalid"))
    message = "The request is malformed or missing fields."
    if is_api(request):
        return JSONResponse(error_body("invalid_request", message, fields=fields), status_code=422)
    return error_page(request, 422, message)


async def handle_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    message = TITLE_FOR_STATUS.get(error.status_code, "Error")
    code = f"http_{error.status_code}"
    if error.status_code == HTTPStatus.NOT_FOUND:
        message = "There is nothing at this address."
    if isinstance(error, BodyTooLarge):
        code, message = PayloadTooLarge.code, str(error.detail)
    if is_api(request):
        body = error_body(code, message)
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)
    return error_page(request, error.status_code, message)


async def handle_unexpected_error(request: Request, error: Exception) -> Response:
    log_event(
        logger,
        "unhandled_error",
        level=logging.ERROR,
        path=request.url.path,
        exc_type=type(error).__name__,
    )
    message = "An unexpected error occurred. It has been logged."
    if is_api(request):
        return JSONResponse(error_body("internal_error", message), status_code=500)
    return error_page(request, 500, message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FaceAuthError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
