"""MTCNN on ONNX Runtime: mtcnn 1.0.0's three networks, converted from its own weights at
install time (face_pipeline/onnx_conversion.py), driven by its own stages ported to numpy
(face_pipeline/mtcnn_numpy.py). No TensorFlow in the process (issue 25).

``OnnxMTCNN.detect_faces`` takes what ``mtcnn.MTCNN.detect_faces`` takes (one (H, W, 3)
RGB array, or a list of them, and the stages' keyword arguments) and returns what it
returns, so face_pipeline/detect.py runs either one (the FaceDetector protocol).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from face_auth.face_pipeline import mtcnn_numpy as mn
from face_auth.face_pipeline.onnx_session import open_session

# Each network's input side (PNet: any size; its smallest pyramid level is 12 px).
RNET_SIDE = 24
ONET_SIDE = 48
NETWORKS = ("pnet", "rnet", "onet")

Network = Callable[[np.ndarray], list[np.ndarray]]


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
            bbox_reg, bbox_class = self.pnet(level)
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
        patches = mn.extract_patches(normalized, bboxes, (RNET_SIDE, RNET_SIDE))
        offsets, scores = self.rnet(patches)
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
        patches = mn.extract_patches(normalized, bboxes, (ONET_SIDE, ONET_SIDE))
        offsets, landmarks, scores = self.onet(patches)
        landmarks = mn.adjust_landmarks(landmarks, bboxes)
        bboxes = mn.replace_confidence(bboxes, scores)
        bboxes = mn.adjust_bboxes(bboxes, offsets)
        bboxes = np.concatenate([bboxes, landmarks], axis=-1)
        bboxes = mn.pick_matches(bboxes, scores_column=5, score_threshold=threshold)
        return mn.smart_nms_from_bboxes(bboxes, nms, method="min", initial_sort=True)


def load_onnx_mtcnn(paths: dict[str, Path], threads: int | None) -> OnnxMTCNN:
    """The detector on the converted networks ``paths`` (keys: NETWORKS)."""
    pnet, rnet, onet = (load_network(paths[name], threads) for name in NETWORKS)
    return OnnxMTCNN(pnet, rnet, onet)
