"""Discovery, the signing keys, and the browser's CORS preflight for the token and userinfo
endpoints."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from controller.oidc.adapter import issuer_of
from controller.oidc.deps import PUBLIC_CORS, OidcDep, ServerDep
from controller.oidc.paths import (
    AUTHORIZE_PATH,
    DISCOVERY_PATH,
    INTROSPECTION_PATH,
    JWKS_PATH,
    LOGOUT_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
)
from face_auth.business_val.oidc.rules import (
    ACR_MULTI_FACTOR,
    ENDPOINT_AUTH_METHODS,
    GRANT_TYPES,
    ID_TOKEN_ALGORITHMS,
    PKCE_METHOD,
    RESPONSE_TYPE,
    SUPPORTED_SCOPES,
)

router = APIRouter()
# Claims the ID token and userinfo may carry (discovery's claims_supported).
CLAIMS = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "at_hash",
          "name", "preferred_username", "email", "email_verified"]  # fmt: skip


@router.options(TOKEN_PATH)
@router.options(USERINFO_PATH)
def preflight(request: Request, oidc: OidcDep) -> Response:
    """The browser's CORS preflight for the token and userinfo endpoints (a request with an
    Authorization header): allowed for an origin some client registered."""
    response = Response(status_code=204)
    origin = request.headers.get("origin")
    if origin is not None and oidc.cors_allowed(origin, None):
        methods = "POST" if request.url.path == TOKEN_PATH else "GET, POST"
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            }
        )
    response.headers.add_vary_header("Origin")
    return response


@router.get(DISCOVERY_PATH)
@router.head(DISCOVERY_PATH, include_in_schema=False)
def discovery(request: Request) -> JSONResponse:
    issuer = issuer_of(request, request.app.state.settings)
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZE_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "userinfo_endpoint": issuer + USERINFO_PATH,
        "end_session_endpoint": issuer + LOGOUT_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": list(ENDPOINT_AUTH_METHODS["revocation"]),
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": list(
            ENDPOINT_AUTH_METHODS["introspection"]
        ),
        "jwks_uri": issuer + JWKS_PATH,
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": [RESPONSE_TYPE],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
        "token_endpoint_auth_methods_supported": list(ENDPOINT_AUTH_METHODS["token"]),
        "code_challenge_methods_supported": [PKCE_METHOD],
        "claims_supported": CLAIMS,
        "acr_values_supported": [ACR_MULTI_FACTOR],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
    headers = {"Cache-Control": "public, max-age=300", **PUBLIC_CORS}
    return JSONResponse(metadata, headers=headers)


@router.get(JWKS_PATH)
@router.head(JWKS_PATH, include_in_schema=False)
def jwks(server: ServerDep) -> JSONResponse:
    # Short cache: a rotated key must reach relying parties well within a token's lifetime.
    headers = {"Cache-Control": "public, max-age=300", **PUBLIC_CORS}
    return JSONResponse(server.keys.jwks(), headers=headers)
