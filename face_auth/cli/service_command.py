"""A `face-auth` subcommand that runs one service call on the database and prints JSON: the
database opened (or started) as every command does, domain errors printed as
`{"error": ...}` with exit code 1."""

import argparse
import json
from collections.abc import Callable
from typing import TypeVar

from face_auth.config import Settings
from face_auth.exception import DatabaseUnavailable, InvalidInput, NotFound
from face_auth.wiring import Repositories, open_database

Service = TypeVar("Service")
Handler = Callable[[argparse.Namespace, Settings], int]


def service_command(
    build: Callable[[Settings, Repositories], Service],
    action: Callable[[Service, argparse.Namespace], object],
) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        try:
            with open_database(settings) as database:
                output = action(build(settings, Repositories(settings, database)), args)
        except InvalidInput as error:
            print(json.dumps({"error": error.message, "fields": error.fields}))
            return 1
        except (NotFound, DatabaseUnavailable) as error:
            print(json.dumps({"error": error.message}))
            return 1
        print(json.dumps(output, indent=2))
        return 0

    return handler
