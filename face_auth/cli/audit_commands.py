"""`face-auth audit`: the security events, as a table or JSON lines."""

import argparse
import json
import re
from datetime import datetime, timedelta
from typing import Any

from face_auth.business_val.accounts.audit_log import AuditLog
from face_auth.config import Settings
from face_auth.exception import DatabaseUnavailable, NotFound
from face_auth.utils import utc_now
from face_auth.wiring import Repositories, open_database

_AGO = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_COLUMNS = ("at", "event", "user_id")


def parse_since(text: str) -> datetime:
    """`30m`, `24h`, `7d` (that long ago), or an ISO date or date-time (UTC if no zone)."""
    ago = _AGO.match(text)
    if ago:
        return utc_now() - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (try 24h, 7d or 2026-11-01)"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=utc_now().tzinfo)


def _details(event: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in event.items() if key not in _COLUMNS)


def format_table(events: list[dict[str, Any]]) -> str:
    lines = [f"{'at (UTC)':<24} {'event':<24} {'user':<24} details"]
    for event in events:
        at = event["at"].strftime("%Y-%m-%d %H:%M:%S")
        user = event.get("user_id") or "-"
        lines.append(f"{at:<24} {event['event']:<24} {user:<24} {_details(event)}".rstrip())
    return "\n".join(lines)


def audit(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with open_database(settings) as database:
            repos = Repositories(settings, database)
            log = AuditLog(repos.audit, repos.users)
            events = log.events(args.user, args.since, args.limit)
    except (NotFound, DatabaseUnavailable) as error:
        print(json.dumps({"error": error.message}))
        return 1
    if args.json:
        for event in events:
            print(json.dumps(event, default=str))
    else:
        print(format_table(events))
    return 0


def add_audit_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("audit", help="print security events, oldest first")
    parser.add_argument("--user", metavar="EMAIL", help="only this user's events")
    parser.add_argument("--since", type=parse_since, help="24h, 7d, or an ISO date or time")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many (newest)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.set_defaults(handler=audit)
