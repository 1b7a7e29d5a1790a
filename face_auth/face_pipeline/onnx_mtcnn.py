"""MTCNN without TensorFlow: mtcnn 1.0.0's three networks, converted from its own weights at
install time (face_pipeline/onnx_conversion.py) to TFLite (run on LiteRT, the default) and to
ONNX (run on ONNX Runtime), driven by its own stages ported to numpy
(face_pipeline/mtcnn_numpy.py). No TensorFlow in the process (issue 25).

``OnnxMTCNN.detect_faces`` takes what ``mtcnn.MTCNN.detect_faces`` takes (one (H, W, 3)
RGB array, or a list of them, and the stages' keyword arguments) and returns what it
returns, so face_pipeline/detect.py runs either one (the FaceDetector protocol).
"""

import os
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from face_auth.face_pipeline import mtcnn_numpy as mn
from face_auth.face_pipeline.onnx_session import open_session
from face_auth.model_store import ModelsMissingError

# Each network's input side (PNet: any size; its smallest pyramid level is 12 px).
RNET_SIDE = 24
ONET_SIDE = 48
NETWORKS = ("pnet", "rnet", "onet")

Network = Callable[[np.ndarray], list[np.ndarray]]


# A network call takes at most this many input pixels (batch x height x width): a bigger
# batch (the pyramid's levels of large frames, thousands of candidate boxes in noise) runs
# in parts, and so do the candidates' crops. Each row's outputs are the same either way;
# memory stays bounded whatever a request sends (12 frames of 1600 x 1200 noise peaked at
# 1.3 GB, now ~0.7: docs/performance.md).
MAX_CALL_PIXELS = 3 * 320 * 240


def rows_per_call(height: int, width: int) -> int:
    return max(1, MAX_CALL_PIXELS // max(height * width, 1))


def _in_parts(count: int, rows: int, run: Callable[[slice], list[np.ndarray]]) -> list[np.ndarray]:
    """``run`` on slices of ``rows`` of ``count`` rows, its outputs joined."""
    parts = [run(slice(start, start + rows)) for start in range(0, count, rows)]
    if len(parts) == 1:
        return parts[0]
    return [np.concatenate(outputs) for outputs in zip(*parts, strict=True)]


def run_in_parts(network: Network, batch: np.ndarray) -> list[np.ndarray]:
    """``network(batch)``, a bounded number of rows at a time."""
    rows = rows_per_call(batch.shape[1], batch.shape[2])
    return _in_parts(len(batch), rows, lambda part: network(batch[part]))


def run_on_patches(
    network: Network, normalized: np.ndarray, bboxes: np.ndarray, side: int
) -> list[np.ndarray]:
    """``network`` on the ``side`` x ``side`` patches of ``bboxes``, cropped and run a
    bounded number at a time."""
    return _in_parts(
        len(bboxes), rows_per_call(side, side),
        lambda part: network(mn.extract_patches(normalized, bboxes[part], (side, side))),
    )  # fmt: skip


class _NoCandidates(Exception):
    """No box left, or a pyramid level too small for PNet: mtcnn 1.0 then reports no face
    for every image of the call (its InvalidArgumentError handler)."""


@dataclass(frozen=True)
class SessionNetwork:
    """One converted network: a float32 NHWC batch in, its outputs in Keras's order."""

    session: Any
    input_name: str
    output_names: list[str]

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        feed = {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        return self.session.run(self.output_names, feed)


# PNet's convolutions (3 to 10 channels, whole pyramid levels) run ~2x slower in ONNX
# Runtime's blocked (NCHWc) layout, which "all" adds; RNet and ONet gain from it (one-thread
# CPU time, docs/performance.md: PNet 20 vs 45 ms, RNet 58 vs 47 ms, ONet 12.5 vs 10 ms).
OPTIMIZATION = {"pnet": "extended", "rnet": "all", "onet": "all"}


def load_network(path: Path, threads: int | None) -> SessionNetwork:
    level = OPTIMIZATION.get(path.stem, "all")
    session = open_session(path, threads, f"MTCNN network {path.stem}", level)
    outputs = [output.name for output in session.get_outputs()]
    return SessionNetwork(session, session.get_inputs()[0].name, outputs)


# Each network's outputs in Keras's order, told apart by their last dimension: box offsets
# (4) and face scores (2); ONet's 5 keypoints (10) between them. TFLite orders them its way.
OUTPUT_WIDTHS = {"pnet": (4, 2), "rnet": (4, 2), "onet": (4, 10, 2)}


@dataclass
class _SizedInterpreter:
    interpreter: Any
    shape: tuple[int, ...] = ()


class LiteRtNetwork:
    """One network's TFLite conversion on LiteRT: a float32 NHWC batch in, its outputs in
    Keras's order (``widths``: OUTPUT_WIDTHS).

    An interpreter is sized for one input shape and fed by one thread at a time. A call takes
    an idle interpreter (a new one when every one is busy: at most one per request detecting
    at the same time), resizes it when the shape differs from its last (PNet's pyramid
    levels, the number of RNet and ONet candidates) and gives it back. Resizing each time
    costs ~5 ms a request against an interpreter kept per shape (docs/performance.md), and
    keeps the memory bounded whatever the frame sizes. The file is read once, at load (after
    its start-up hash check): later interpreters are made from those bytes."""

    def __init__(self, path: Path, threads: int, widths: tuple[int, ...]) -> None:
        self.path = Path(path)
        self._threads = threads
        try:
            self._content = self.path.read_bytes()
        except OSError as error:
            raise ModelsMissingError(
                f"The TFLite MTCNN network at {path} cannot be read ({error}). Run "
                "`face-auth models install`."
            ) from error
        self._idle: queue.SimpleQueue[_SizedInterpreter] = queue.SimpleQueue()
        first = self._open()
        details = first.interpreter.get_output_details()
        by_width = {int(detail["shape_signature"][-1]): detail["index"] for detail in details}
        if sorted(by_width) != sorted(widths) or len(details) != len(widths):
            raise ModelsMissingError(
                f"The TFLite MTCNN network at {path} has outputs of widths {sorted(by_width)}, "
                f"not {sorted(widths)}. Delete it and run `face-auth models install`."
            )
        self._input = first.interpreter.get_input_details()[0]["index"]
        self._outputs = [by_width[width] for width in widths]
        self._idle.put(first)

    def _open(self) -> _SizedInterpreter:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415 - with the models

        try:
            return _SizedInterpreter(
                Interpreter(model_content=self._content, num_threads=self._threads)
            )
        except (ValueError, RuntimeError) as error:  # LiteRT's errors for a bad file
            raise ModelsMissingError(
                f"The TFLite MTCNN network at {self.path} cannot be loaded ({error}). Delete "
                "it and run `face-auth models install`."
            ) from error

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        data = np.ascontiguousarray(batch, dtype=np.float32)
        try:
            sized = self._idle.get_nowait()
        except queue.Empty:
            sized = self._open()
        interpreter = sized.interpreter
        if sized.shape != data.shape:
            interpreter.resize_tensor_input(self._input, data.shape)
            interpreter.allocate_tensors()
            sized.shape = data.shape
        interpreter.set_tensor(self._input, data)
        interpreter.invoke()
        outputs = [interpreter.get_tensor(index) for index in self._outputs]  # copies
        self._idle.put(sized)  # not after a failed call: its state is unknown
        return outputs


def load_litert_network(path: Path, name: str, threads: int | None) -> LiteRtNetwork:
    """``name``'s TFLite conversion (NETWORKS); ``threads`` None or 0: one per core."""
    return LiteRtNetwork(path, threads or os.cpu_count() or 1, OUTPUT_WIDTHS[name])


@dataclass(frozen=True)
class OnnxMTCNN:
    """mtcnn 1.0's detector with its networks replaced by ``pnet``, ``rnet``, ``onet``."""

    # detect_faces takes ``skip_levels`` (face_pipeline/detect.py's first search).
    skips_levels = True

    pnet: Network
    rnet: Network
    onet: Network

    def detect_faces(
        self,
        image: np.ndarray | Sequence[np.ndarray],
        *,
        min_face_size: int = 20,
        scale_factor: float = 0.709,
        threshold_pnet: float = 0.6,
        nms_pnet1: float = 0.5,
        nms_pnet2: float = 0.7,
        threshold_rnet: float = 0.7,
        nms_rnet: float = 0.7,
        threshold_onet: float = 0.8,
        nms_onet: float = 0.7,
        skip_levels: int = 0,
    ) -> list[Any]:
        """Faces (box xywh, confidence, keypoints) in one image, or one list per image.
        ``skip_levels`` (not in mtcnn 1.0, which ignores it): PNet skips the pyramid's
        largest levels, the ones that find the smallest faces (face_pipeline/detect.py)."""
        is_batch = isinstance(image, list)
        images = list(image) if is_batch else [image]
        padded, shapes, pad_param = mn.pad_stack_np(
            [np.asarray(img, dtype=np.float32) for img in images]
        )
        normalized = mn.normalize_images_in_place(padded)  # a fresh array: ours to change
        try:
            bboxes = self._pnet_stage(
                normalized, shapes, min_face_size, scale_factor, threshold_pnet, nms_pnet1,
                nms_pnet2, skip_levels,
            )  # fmt: skip
            bboxes = self._rnet_stage(normalized, bboxes, threshold_rnet, nms_rnet)
            bboxes = self._onet_stage(normalized, bboxes, threshold_onet, nms_onet)
            bboxes = mn.limit_bboxes(mn.fix_bboxes_offsets(bboxes, pad_param), shapes)
        except _NoCandidates:
            bboxes = np.empty((0, 16))
        result = mn.to_json(bboxes, len(images))
        return result if is_batch else result[0]

    def _pnet_stage(
        self,
        normalized: np.ndarray,
        shapes: np.ndarray,
        min_face_size: int,
        scale_factor: float,
        threshold: float,
        nms1: float,
        nms2: float,
        skip_levels: int,
    ) -> np.ndarray:
        """StagePNet: the pyramid (the scales of the image with the most levels, as mtcnn
        picks them, less the ``skip_levels`` largest), PNet on each level, proposals, NMS
        per level then across levels."""
        groups = [
            mn.build_scale_pyramid(shape[1], shape[0], min_face_size, scale_factor)
            for shape in shapes
        ]
        scales = groups[int(np.argmax([group.shape[0] for group in groups]))][skip_levels:]
        batch_size = normalized.shape[0]
        per_level = []
        for scale in scales:
            level = mn.scale_images(normalized, scale)
            if min(level.shape[1:3]) < mn.PNET_MIN_SIDE:
                raise _NoCandidates
            bbox_reg, bbox_class = run_in_parts(self.pnet, level)
            proposals = mn.generate_bounding_box(bbox_reg, bbox_class, threshold)
            proposals = mn.upscale_bboxes(proposals, np.asarray([scale] * batch_size))
            per_level.append(
                mn.smart_nms_from_bboxes(proposals, nms1, method="union", initial_sort=False)
            )
        bboxes = np.concatenate(per_level, axis=0) if per_level else np.empty((0, 6))
        bboxes = mn.smart_nms_from_bboxes(bboxes, nms2, method="union", initial_sort=True)
        return mn.resize_to_square(bboxes)

    def _rnet_stage(
        self, normalized: np.ndarray, bboxes: np.ndarray, threshold: float, nms: float
    ) -> np.ndarray:
        if len(bboxes) == 0:
            raise _NoCandidates
        offsets, scores = run_on_patches(self.rnet, normalized, bboxes, RNET_SIDE)
        bboxes = mn.replace_confidence(bboxes, scores)
        bboxes = mn.adjust_bboxes(bboxes, offsets)
        bboxes = mn.pick_matches(bboxes, score_threshold=threshold)
        bboxes = mn.smart_nms_from_bboxes(bboxes, nms, method="union", initial_sort=True)
        return mn.resize_to_square(bboxes)

    def _onet_stage(
        self, normalized: np.ndarray, bboxes: np.ndarray, threshold: float, nms: float
    ) -> np.ndarray:
        if len(bboxes) == 0:
            raise _NoCandidates
        offsets, landmarks, scores = run_on_patches(self.onet, normalized, bboxes, ONET_SIDE)
        landmarks = mn.adjust_landmarks(landmarks, bboxes)
        bboxes = mn.replace_confidence(bboxes, scores)
        bboxes = mn.adjust_bboxes(bboxes, offsets)
        bboxes = np.concatenate([bboxes, landmarks], axis=-1)
        bboxes = mn.pick_matches(bboxes, scores_column=5, score_threshold=threshold)
        return mn.smart_nms_from_bboxes(bboxes, nms, method="min", initial_sort=True)


def load_onnx_mtcnn(paths: dict[str, Path], threads: int | None) -> OnnxMTCNN:
    """The detector on the ONNX networks ``paths`` (keys: NETWORKS), on ONNX Runtime."""
    pnet, rnet, onet = (load_network(paths[name], threads) for name in NETWORKS)
    return OnnxMTCNN(pnet, rnet, onet)


def load_litert_mtcnn(paths: dict[str, Path], threads: int | None) -> OnnxMTCNN:
    """The detector on the TFLite networks ``paths`` (keys: NETWORKS), on LiteRT."""
    pnet, rnet, onet = (load_litert_network(paths[name], name, threads) for name in NETWORKS)
    return OnnxMTCNN(pnet, rnet, onet)
