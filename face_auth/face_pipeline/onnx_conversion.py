"""Install-time conversion of MTCNN's three networks (to TFLite and to ONNX) and the
face-landmark model (to ONNX), so that the app runs without TensorFlow (issue 25); as for
FaceNet (onnx_facenet.py), each file is kept only when its outputs agree with the original's.

- MTCNN: the Keras PNet, RNet and ONet that mtcnn 1.0.0 builds from its wheel's weights
  (sha256-pinned: model_store.MTCNN_WEIGHTS_SHA256) are traced, then converted with
  TensorFlow's TFLite converter (for LiteRT, what the app runs by default) and with tf2onnx.
  On fixed probe batches (smooth noise, normalised as mtcnn does: PNet at several pyramid
  sizes, RNet and ONet at batch sizes 1 and 16), every output (face probabilities, box
  offsets, keypoints) of each conversion, in the runtime that serves it, must agree within
  model_store.MTCNN_AGREEMENT_TOLERANCE.
- Landmarks: the pinned face_landmark.tflite through tf2onnx's TFLite path, given a batch
  dimension; on probe crops, alone and in a batch, the 468 points (crop pixels) and the
  presence logit must agree with TFLite's (one crop at a time) within
  model_store.LANDMARK_AGREEMENT_TOLERANCE.

The real-face agreement (boxes, confidences, the 5 keypoints, the 468 landmarks on the
dataset's photos) is checked by tests/pipeline/test_onnx_detectors.py. Each record is
written last, after the file: a crash in between leaves no record (not converted).
"""

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from face_auth.face_pipeline.landmarks import (
    LANDMARK_INPUT,
    OnnxLandmarkModel,
    TfliteLandmarkModel,
)
from face_auth.face_pipeline.onnx_mtcnn import (
    NETWORKS,
    ONET_SIDE,
    RNET_SIDE,
    load_litert_network,
    load_network,
)
from face_auth.model_store import (
    LANDMARK_ONNX,
    MTCNN_ONNX,
    MTCNN_TFLITE,
    ModelProvisioningError,
    ModelsMissingError,
    OnnxConversion,
    OnnxRecord,
    make_model_dir,
    onnx_model_path,
    onnx_record_path,
    onnx_status,
    publish_model_file,
    read_onnx_record,
    require_landmark_model,
    sha256_of,
    write_onnx_record,
)

OPSET = 17
PROBE_SEED = 25
# PNet probe levels: a camera frame's first pyramid level at the default detector size, two
# odd sizes and PNet's smallest input.
PNET_PROBE_SHAPES = ((2, 72, 96), (1, 51, 68), (3, 37, 29), (1, 12, 12))
PATCH_BATCHES = (1, 16)
LANDMARK_PROBES = 6

Reference = Callable[[np.ndarray], list[np.ndarray]]


def smooth_noise(rng: np.random.Generator, count: int, height: int, width: int) -> np.ndarray:
    """``count`` (height, width, 3) images of upscaled noise in [0, 255] (float32)."""
    coarse = rng.integers(0, 256, (count, max(2, height // 6), max(2, width // 6), 3), np.uint8)
    return np.stack(
        [cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC) for img in coarse]
    ).astype(np.float32)


def mtcnn_probes(name: str) -> Iterator[np.ndarray]:
    """Normalised probe batches for one network (mtcnn scales pixels to (x - 127.5) / 128)."""
    rng = np.random.default_rng(PROBE_SEED)
    if name == "pnet":
        shapes = PNET_PROBE_SHAPES
    else:
        side = RNET_SIDE if name == "rnet" else ONET_SIDE
        shapes = tuple((batch, side, side) for batch in PATCH_BATCHES)
    for count, height, width in shapes:
        yield (smooth_noise(rng, count, height, width) - 127.5) / 128


def largest_difference(
    reference: Reference, candidate: Reference, probes: Iterator[np.ndarray]
) -> float:
    """Largest absolute difference over every output of the two engines on the probes."""
    worst = 0.0
    for batch in probes:
        for reference_output, candidate_output in zip(
            reference(batch), candidate(batch), strict=True
        ):
            expected = np.asarray(reference_output, dtype=np.float32)
            actual = np.asarray(candidate_output, dtype=np.float32)
            if expected.shape != actual.shape:
                return float("inf")
            worst = max(worst, float(np.abs(expected - actual).max()))
    return worst


def _converter_version() -> str:
    import onnxruntime  # noqa: PLC0415
    import tf2onnx  # noqa: PLC0415

    return f"tf2onnx {tf2onnx.__version__}, onnxruntime {onnxruntime.__version__}"


def _tflite_converter_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return (
        f"tensorflow {version('tensorflow')} TFLiteConverter, "
        f"ai-edge-litert {version('ai-edge-litert')}"
    )


@dataclass(frozen=True)
class Converter:
    """What a conversion is made with: named in its record and in install errors."""

    tool: str
    runtime: str
    opset: int
    version: Callable[[], str]


TF2ONNX = Converter("tf2onnx", "ONNX Runtime", OPSET, _converter_version)
TFLITE = Converter("TensorFlow's TFLite converter", "LiteRT", 0, _tflite_converter_version)


def install_conversion(
    models_dir: Path,
    conversion: OnnxConversion,
    convert: Callable[[Path], None],
    measure: Callable[[Path], float],
    converter: Converter = TF2ONNX,
) -> OnnxRecord:
    """Convert with ``convert`` into a temporary file, ``measure`` its disagreement with the
    original, and publish file and record only when it is within the tolerance."""
    target = onnx_model_path(models_dir, conversion)
    make_model_dir(models_dir, target.parent)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    os.close(handle)
    partial = Path(name)
    try:
        try:
            convert(partial)
        except Exception as error:  # the converters raise whatever their graph rewriters raise
            raise ModelProvisioningError(
                f"{converter.tool} could not convert the {conversion.label}: {error}"
            ) from error
        try:
            difference = measure(partial)
        except ModelsMissingError as error:
            raise ModelProvisioningError(
                f"{converter.tool} produced a {conversion.label} that {converter.runtime} "
                f"cannot load: {error}"
            ) from error
        if not difference <= conversion.tolerance:
            raise ModelProvisioningError(
                f"The {conversion.label} disagrees with the original by "
                f"{difference:.2e} (more than {conversion.tolerance:.0e}); it was not installed."
            )
        record = OnnxRecord(
            source_sha256=conversion.source_sha256,
            onnx_sha256=sha256_of(partial),
            opset=converter.opset,
            converter=converter.version(),
            largest_difference=difference,
        )
        onnx_record_path(models_dir, conversion).unlink(missing_ok=True)
        publish_model_file(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    write_onnx_record(models_dir, record, conversion)
    return record


def mtcnn_weights_path(name: str) -> Path:
    """The wheel's weights file for one network (mtcnn/assets/weights/<name>.lz4)."""
    import importlib.resources  # noqa: PLC0415

    return Path(str(importlib.resources.files("mtcnn.assets.weights") / f"{name}.lz4"))


def _keras_networks() -> dict[str, Any]:
    """mtcnn 1.0's Keras networks, after checking the wheel's weights are the pinned ones.
    Imports TensorFlow: call after face_pipeline.models prepared its environment."""
    for name in NETWORKS:
        path = mtcnn_weights_path(name)
        digest = sha256_of(path)
        if digest != MTCNN_ONNX[name].source_sha256:
            raise ModelProvisioningError(
                f"{path} is not the pinned mtcnn 1.0.0 weights (sha256 {digest})."
            )
    from mtcnn import MTCNN  # noqa: PLC0415 - imports TensorFlow

    stages = MTCNN().stages
    return dict(zip(NETWORKS, (stage.model for stage in stages), strict=True))


def _convert_network(keras_model: Any, name: str, target: Path) -> None:
    import onnx  # noqa: PLC0415 - only at install time
    import tensorflow as tf  # noqa: PLC0415 - only at install time
    import tf2onnx  # noqa: PLC0415 - only at install time

    side = {"pnet": None, "rnet": RNET_SIDE, "onet": ONET_SIDE}[name]
    signature = [tf.TensorSpec((None, side, side, 3), tf.float32, name="images")]
    function = tf.function(keras_model.call, input_signature=signature)
    model, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    rewrite_prelu(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _convert_network_to_tflite(keras_model: Any, name: str, target: Path) -> None:
    import tensorflow as tf  # noqa: PLC0415 - only at install time

    side = {"pnet": None, "rnet": RNET_SIDE, "onet": ONET_SIDE}[name]
    signature = [tf.TensorSpec((None, side, side, 3), tf.float32, name="images")]
    function = tf.function(keras_model.call, input_signature=signature)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], keras_model
    )
    target.write_bytes(converter.convert())


def rewrite_prelu(model: Any) -> int:
    """Rewrite each PReLU that tf2onnx spelt out from Keras's formula, ``Relu(x) + (-alpha)
    * Relu(-x)`` (five passes over the feature map), as ``(1 - alpha) * Relu(x) + alpha *
    x``, in place; return how many were rewritten. Measured on RNet (323 patches, one
    core): 96 ms as ONNX's ``PRelu`` node (its per-channel broadcast is slow), 62 ms so.
    Equal but for rounding (~5e-7 on the outputs); the install check measures the result
    against Keras like any other."""
    from onnx import helper, numpy_helper  # noqa: PLC0415 - only at install time

    graph = model.graph
    producer = {output: node for node in graph.node for output in node.output}
    constants = {init.name: init for init in graph.initializer}
    rewritten, nodes = 0, []
    dropped: set[int] = set()
    for node in graph.node:
        match = _prelu_parts(node, producer, constants)
        if match is None:
            nodes.append(node)
            continue
        source, negative_alpha, parts = match
        alpha = -numpy_helper.to_array(constants[negative_alpha])
        out = node.output[0]
        graph.initializer.extend([
            numpy_helper.from_array(alpha.astype(np.float32), f"{out}_alpha"),
            numpy_helper.from_array((1 - alpha).astype(np.float32), f"{out}_one_minus_alpha"),
        ])  # fmt: skip
        nodes.extend([
            helper.make_node("Relu", [source], [f"{out}_relu"]),
            helper.make_node("Mul", [f"{out}_relu", f"{out}_one_minus_alpha"], [f"{out}_pos"]),
            helper.make_node("Mul", [source, f"{out}_alpha"], [f"{out}_lin"]),
            helper.make_node("Add", [f"{out}_pos", f"{out}_lin"], [out]),
        ])  # fmt: skip
        dropped.update(id(part) for part in parts)
        rewritten += 1
    kept = [node for node in nodes if id(node) not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)
    return rewritten


def _prelu_parts(node: Any, producer: dict[str, Any], constants: dict[str, Any]) -> Any:
    """(x, the -alpha constant, the 4 nodes to drop) when ``node`` is the Add of the
    pattern, else None."""
    if node.op_type != "Add" or len(node.input) != len(("x", "y")):
        return None
    first, second = (producer.get(name) for name in node.input)
    for relu, mul in ((first, second), (second, first)):
        if relu is None or mul is None or relu.op_type != "Relu" or mul.op_type != "Mul":
            continue
        source = relu.input[0]
        for branch, constant in (mul.input, mul.input[::-1]):
            negative_relu = producer.get(branch)
            if constant not in constants or negative_relu is None:
                continue
            negation = producer.get(negative_relu.input[0])
            if (
                negative_relu.op_type == "Relu"
                and negation is not None
                and negation.op_type == "Neg"
                and negation.input[0] == source
            ):
                return source, constant, (relu, mul, negative_relu, negation)
    return None


def _keras_reference(keras_model: Any) -> Reference:
    return lambda batch: [output.numpy() for output in keras_model(batch)]


def install_onnx_mtcnn(models_dir: Path, name: str, keras_model: Any) -> OnnxRecord:
    reference = _keras_reference(keras_model)
    return install_conversion(
        models_dir,
        MTCNN_ONNX[name],
        lambda target: _convert_network(keras_model, name, target),
        lambda path: largest_difference(reference, load_network(path, None), mtcnn_probes(name)),
    )


def install_tflite_mtcnn(models_dir: Path, name: str, keras_model: Any) -> OnnxRecord:
    reference = _keras_reference(keras_model)
    return install_conversion(
        models_dir,
        MTCNN_TFLITE[name],
        lambda target: _convert_network_to_tflite(keras_model, name, target),
        lambda path: largest_difference(
            reference, load_litert_network(path, name, None), mtcnn_probes(name)
        ),
        TFLITE,
    )


def landmark_probes() -> Iterator[np.ndarray]:
    """Batches of probe crops (1 and LANDMARK_PROBES - 1): the app sends a request's crops
    in one call."""
    rng = np.random.default_rng(PROBE_SEED)
    crops = (smooth_noise(rng, LANDMARK_PROBES, LANDMARK_INPUT, LANDMARK_INPUT) / 255.0).astype(
        np.float32
    )
    yield crops[:1]
    yield crops[1:]


def _raw_outputs(model: TfliteLandmarkModel | OnnxLandmarkModel) -> Reference:
    def run(crops: np.ndarray) -> list[np.ndarray]:
        return list(model.raw(crops))

    return run


def _landmark_reference(source: Path) -> Reference:
    return _raw_outputs(TfliteLandmarkModel(source))


def _convert_landmarks(source: Path, target: Path) -> None:
    import tf2onnx  # noqa: PLC0415 - only at install time

    tf2onnx.convert.from_tflite(str(source), opset=OPSET, output_path=str(target))
    add_batch_dimension(target)


def add_batch_dimension(path: Path) -> None:
    """Let the converted model take any number of crops: the TFLite graph is fixed at one
    (its input, outputs and two Reshape targets say 1); the convolutions do not care."""
    import onnx  # noqa: PLC0415 - only at install time
    from onnx import numpy_helper  # noqa: PLC0415

    model = onnx.load(str(path))
    graph = model.graph
    for value in (*graph.input, *graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "crops"
    shapes = {node.input[1] for node in graph.node if node.op_type == "Reshape"}
    for initializer in graph.initializer:
        if initializer.name in shapes:
            shape = numpy_helper.to_array(initializer).copy()
            shape[0] = -1
            initializer.CopyFrom(numpy_helper.from_array(shape, initializer.name))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def install_onnx_landmarks(models_dir: Path) -> OnnxRecord:
    source = require_landmark_model(models_dir)
    reference = _landmark_reference(source)

    def measure(path: Path) -> float:
        candidate = _raw_outputs(OnnxLandmarkModel(path))
        return largest_difference(reference, candidate, landmark_probes())

    return install_conversion(
        models_dir, LANDMARK_ONNX, lambda target: _convert_landmarks(source, target), measure
    )


def _installed(models_dir: Path, conversion: OnnxConversion) -> OnnxRecord | None:
    record = read_onnx_record(models_dir, conversion)
    return record if record is not None and onnx_status(models_dir, conversion).installed else None


def convert_detectors(models_dir: Path) -> dict[str, OnnxRecord]:
    """Convert MTCNN's networks (to ONNX and to TFLite) and the landmark model (to ONNX)
    unless verified conversions are there; return the records by name ("pnet", "rnet",
    "onet", their TFLite files "pnet.tflite" ..., "landmarks"). Imports TensorFlow when
    something is converted: run by `face-auth models install` only."""
    records: dict[str, OnnxRecord] = {}
    formats = (
        (MTCNN_ONNX, install_onnx_mtcnn, ""),
        (MTCNN_TFLITE, install_tflite_mtcnn, ".tflite"),
    )
    missing = []
    for conversions, install, suffix in formats:
        for name in NETWORKS:
            record = _installed(models_dir, conversions[name])
            if record is None:
                missing.append((name, suffix, install))
            else:
                records[name + suffix] = record
    if missing:
        networks = _keras_networks()
        for name, suffix, install in missing:
            records[name + suffix] = install(models_dir, name, networks[name])
    landmarks = _installed(models_dir, LANDMARK_ONNX)
    records["landmarks"] = landmarks or install_onnx_landmarks(models_dir)
    return records
