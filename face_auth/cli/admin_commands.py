"""`face-auth users|face|db ...`: operator commands, printing JSON."""

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from face_auth.business_val.accounts.admin import AdminService
from face_auth.config import Settings
from face_auth.exception import DatabaseUnavailable, NotFound
from face_auth.wiring import Repositories, admin_service, open_database

Action = Callable[[AdminService, argparse.Namespace], tuple[int, object]]


def _run(action: Action) -> Callable[[argparse.Namespace, Settings], int]:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        try:
            with open_database(settings) as database:
                admin = admin_service(settings, Repositories(settings, database))
                code, output = action(admin, args)
        except (NotFound, DatabaseUnavailable) as error:
            print(json.dumps({"error": error.message}))
            return 1
        except (OSError, ValueError) as error:
            print(json.dumps({"error": str(error)}))
            return 1
        print(json.dumps(output, indent=2, default=str))
        return code

    return handler


def _delete(admin: AdminService, args: argparse.Namespace) -> tuple[int, object]:
    admin.delete_user(args.email)
    return 0, {"deleted": args.email}


def _check(admin: AdminService, _: argparse.Namespace) -> tuple[int, object]:
    healthy, collections = admin.check_database()
    return (0 if healthy else 1), {"healthy": healthy, "collections": collections}


def add_admin_commands(commands: argparse._SubParsersAction) -> None:
    users = commands.add_parser("users", help="list, show, delete, lock or unlock users")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    users_commands.add_parser("list").set_defaults(
        handler=_run(lambda admin, _: (0, admin.list_users()))
    )
    for name, action in (
        ("show", lambda admin, args: (0, admin.show_user(args.email))),
        ("delete", _delete),
        ("unlock", lambda admin, args: (0, {"unlocked": admin.unlock(args.email)})),
        ("lock", lambda admin, args: (0, admin.lock(args.email))),
    ):
        command = users_commands.add_parser(name)
        command.add_argument("email", metavar="EMAIL")
        command.set_defaults(handler=_run(action))

    face = commands.add_parser("face", help="manage face templates")
    face_commands = face.add_subparsers(dest="face_command", required=True)
    reset = face_commands.add_parser(
        "reset",
        help="delete a user's face template and print a one-time enrollment code to hand over",
    )
    reset.add_argument("email", metavar="EMAIL")
    reset.set_defaults(handler=_run(lambda admin, args: (0, admin.reset_face(args.email))))

    keys = commands.add_parser("keys", help="the keys that encrypt face templates")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser(
        "rotate",
        help="re-wrap every data key under the current master key (previous keys from "
        "FACE_AUTH_TEMPLATE_PREVIOUS_MASTER_KEYS) and encrypt plaintext templates",
    ).set_defaults(handler=_run(lambda admin, _: (0, admin.rotate_keys())))

    db = commands.add_parser("db", help="check, export or import the database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("check", help="indexes present and counts").set_defaults(
        handler=_run(_check)
    )
    export = db_commands.add_parser("export", help="write every document to a JSONL file")
    export.add_argument("file", metavar="FILE", type=Path)
    export.set_defaults(handler=_run(lambda admin, args: (0, admin.export(args.file))))
    import_ = db_commands.add_parser("import", help="upsert every document of an export")
    import_.add_argument("file", metavar="FILE", type=Path)
    import_.set_defaults(handler=_run(lambda admin, args: (0, admin.import_(args.file))))
