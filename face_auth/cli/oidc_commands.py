"""`face-auth clients add|list|remove` (OpenID Connect relying parties) and
`face-auth signing-key list|rotate` (the RS256 and ES256 keys that sign ID tokens), printing
JSON."""

import argparse
import json
from collections.abc import Callable

from face_auth.business_val.oidc.rules import ID_TOKEN_ALGORITHMS, OidcService, client_auth_methods
from face_auth.business_val.oidc.signing_keys import DEFAULT_ALGORITHM
from face_auth.cli.service_command import Handler, service_command
from face_auth.config import Settings
from face_auth.entity.oidc import OAuthClient
from face_auth.wiring import oidc_service, signing_keys

Action = Callable[[OidcService, argparse.Namespace], object]


def client_summary(client: OAuthClient) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "type": "public" if client.public else "confidential",
        "token_endpoint_auth_methods": list(client_auth_methods(client)),
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "allowed_origins": list(client.allowed_origins),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "created_at": client.created_at.isoformat(),
    }


def _run(action: Action) -> Handler:
    return service_command(oidc_service, action)


def _add(oidc: OidcService, args: argparse.Namespace) -> object:
    created = oidc.add_client(
        args.name,
        args.redirect_uris,
        args.public,
        args.id_token_alg,
        args.allowed_origins,
        args.post_logout_redirect_uris,
    )
    output = client_summary(created.client)
    if created.secret is not None:
        output["client_secret"] = created.secret
        output["note"] = "The secret is shown this once; only its hash is stored."
    return output


def _remove(oidc: OidcService, args: argparse.Namespace) -> object:
    oidc.remove_client(args.client_id)
    return {"removed": args.client_id}


def _list_keys(_: argparse.Namespace, settings: Settings) -> int:
    keys = signing_keys(settings)
    current = {key.kid for key in keys.current_keys()}
    published = [
        {
            "kid": key.kid,
            "alg": key.alg,
            "current": key.kid in current,
            "created_at": key.created_at.isoformat(),
            "retired_at": key.retired_at.isoformat() if key.retired_at else None,
        }
        for key in keys.published()
    ]
    print(json.dumps({"file": str(settings.oidc_keys_path), "keys": published}, indent=2))
    return 0


def _rotate_key(_: argparse.Namespace, settings: Settings) -> int:
    keys = signing_keys(settings)
    previous = [key.kid for key in keys.current_keys()]
    fresh = keys.rotate()
    print(json.dumps({"current": [key.kid for key in fresh], "retired": previous,
                      "published": [key.kid for key in keys.published()]}, indent=2))  # fmt: skip
    return 0


def add_oidc_commands(commands: argparse._SubParsersAction) -> None:
    clients = commands.add_parser("clients", help="OpenID Connect clients (relying parties)")
    clients_commands = clients.add_subparsers(dest="clients_command", required=True)
    add = clients_commands.add_parser(
        "add", help="register a client; prints its id and (confidential clients) its secret once"
    )
    add.add_argument("--name", required=True, help="shown to users on the consent page")
    add.add_argument(
        "--redirect-uri",
        dest="redirect_uris",
        action="append",
        required=True,
        metavar="URI",
        help="exact callback URI (https, or http on loopback); repeat for several",
    )
    add.add_argument(
        "--public",
        action="store_true",
        help="a client that cannot keep a secret (native or browser app): no secret, PKCE only",
    )
    add.add_argument(
        "--id-token-alg",
        choices=ID_TOKEN_ALGORITHMS,
        default=DEFAULT_ALGORITHM,
        help=f"how its ID tokens are signed (default {DEFAULT_ALGORITHM}, what clients expect)",
    )
    add.add_argument(
        "--post-logout-redirect-uri",
        dest="post_logout_redirect_uris",
        action="append",
        default=[],
        metavar="URI",
        help="where the client's logout requests may send the user back to (exact; repeat)",
    )
    add.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (https://app.example.com) whose pages may call the token and "
        "userinfo endpoints (CORS: a single-page app); repeat for several",
    )
    add.set_defaults(handler=_run(_add))
    clients_commands.add_parser("list").set_defaults(
        handler=_run(lambda oidc, _: [client_summary(c) for c in oidc.list_clients()])
    )
    remove = clients_commands.add_parser(
        "remove", help="remove a client with its codes, tokens and users' consents"
    )
    remove.add_argument("client_id", metavar="CLIENT_ID")
    remove.set_defaults(handler=_run(_remove))

    keys = commands.add_parser("signing-key", help="the RS256 and ES256 keys that sign ID tokens")
    keys_commands = keys.add_subparsers(dest="signing_key_command", required=True)
    keys_commands.add_parser("list", help="the published keys").set_defaults(handler=_list_keys)
    keys_commands.add_parser(
        "rotate",
        help="sign with new keys; the old public keys stay published until their tokens expired",
    ).set_defaults(handler=_rotate_key)
