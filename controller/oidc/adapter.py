"""Starlette requests as Authlib's: Authlib has no FastAPI integration, so this is one. An
`OidcRequest` adapts a Starlette request whose body has been read (Authlib is synchronous) the
way Authlib's Flask and Django integrations adapt theirs."""

from collections import defaultdict
from collections.abc import Iterable

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from fastapi import Request

from face_auth.config import Settings


class OidcPayload(OAuth2Payload):
    """Parameters from one source (the query for /authorize, the form body for /token)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OidcRequest(OAuth2Request):
    """An Authlib request built from a Starlette one whose body has been read. Raises
    InsecureTransportError for plain http off the loopback interface (behind a proxy, set
    FORWARDED_ALLOW_IPS so that uvicorn reports https)."""

    def __init__(self, request: Request, items: list[tuple[str, str]], issuer: str) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self.payload = OidcPayload(items)
        self._query = dict(request.query_params)
        self._form = dict(items) if request.method == "POST" else {}
        self.issuer = issuer

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


def issuer_of(request: Request, settings: Settings) -> str:
    """From configuration only: a Host header never names the issuer (cache poisoning)."""
    return settings.issuer


def query_request(request: Request) -> OidcRequest:
    settings: Settings = request.app.state.settings
    return OidcRequest(
        request, list(request.query_params.multi_items()), issuer_of(request, settings)
    )


async def form_request(request: Request) -> OidcRequest:
    settings: Settings = request.app.state.settings
    form = await request.form(max_files=0, max_fields=50)
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    return OidcRequest(request, items, issuer_of(request, settings))
