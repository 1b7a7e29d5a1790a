"""`face-auth kiosks add|list|remove`: the clients of identify mode, printing JSON. `add`
prints the kiosk's token once; only a hash of its secret is stored."""

import argparse
from collections.abc import Callable

from face_auth.business_val.identify.kiosks import KioskService
from face_auth.cli.service_command import Handler, service_command
from face_auth.entity.kiosk import Kiosk
from face_auth.wiring import kiosk_service

Action = Callable[[KioskService, argparse.Namespace], object]


def kiosk_summary(kiosk: Kiosk) -> dict[str, object]:
    return {"kiosk_id": kiosk.kiosk_id, "name": kiosk.name,
            "created_at": kiosk.created_at.isoformat()}  # fmt: skip


def _run(action: Action) -> Handler:
    return service_command(lambda _settings, repos: kiosk_service(repos), action)


def _add(kiosks: KioskService, args: argparse.Namespace) -> object:
    created = kiosks.add(args.name)
    return {
        **kiosk_summary(created.kiosk),
        "token": created.token,
        "note": "The token is shown this once; only a hash of its secret is stored. The kiosk "
        "sends it as `Authorization: Bearer <token>` (identify mode: FACE_AUTH_IDENTIFY=on).",
    }


def _remove(kiosks: KioskService, args: argparse.Namespace) -> object:
    kiosks.remove(args.kiosk_id)
    return {"removed": args.kiosk_id}


def add_kiosk_commands(commands: argparse._SubParsersAction) -> None:
    kiosks = commands.add_parser("kiosks", help="the kiosks that may call identify (1:N)")
    kiosk_commands = kiosks.add_subparsers(dest="kiosks_command", required=True)
    add = kiosk_commands.add_parser("add", help="register a kiosk and print its token once")
    add.add_argument("name", metavar="NAME")
    add.set_defaults(handler=_run(_add))
    kiosk_commands.add_parser("list", help="the registered kiosks").set_defaults(
        handler=_run(lambda kiosks, _: [kiosk_summary(k) for k in kiosks.list()])
    )
    remove = kiosk_commands.add_parser("remove", help="revoke a kiosk's token")
    remove.add_argument("kiosk_id", metavar="KIOSK_ID")
    remove.set_defaults(handler=_run(_remove))
