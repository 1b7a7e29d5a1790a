import argparse
import sys
from collections.abc import Sequence

import uvicorn

from face_auth.config import Settings


def serve(_: argparse.Namespace) -> int:
    """Same as `python app.py`: the app factory is named by string so the CLI stays below it."""
    settings = Settings()
    uvicorn.run(
        "app:create_app", factory=True, host=settings.host, port=settings.port, log_config=None
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="face-auth", description="face_auth command line")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web app").set_defaults(handler=serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
