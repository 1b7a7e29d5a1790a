"""mtcnn 1.0.0's image and box arithmetic in NumPy and OpenCV, so that its networks can run on
ONNX Runtime without TensorFlow (issue 25).

A faithful port of ``mtcnn/utils/{images,bboxes,landmarks}.py`` (MIT License, Copyright (c)
2019-2024 Iván de Paz Centeno): the same steps, in the same order, on the same dtypes. The
two TensorFlow image ops it used are replaced: ``tf.image.resize(method=AREA)`` by OpenCV's
area resize (``area_resize``: each output pixel is the mean of the input area it covers, with
fractional weights at the edges) and ``tf.image.crop_and_resize`` by its kernel's definition
(``crop_and_resize``: bilinear sampling at ``y1 * (H - 1) + i * (y2 - y1) * (H - 1) /
(h - 1)``, zero outside the image). tests/pipeline/test_onnx_detectors.py checks both against
TensorFlow, and the whole detector against mtcnn's, on the dataset's photos.
"""

import cv2
import numpy as np

# PNet's window and stride (also the image pyramid's smallest level, mtcnn's min_size).
CELL_SIZE = 12
CELL_STRIDE = 2
# PNet's convolutions need 11 pixels on each side: on a smaller pyramid level TensorFlow
# raises InvalidArgumentError, which mtcnn 1.0 catches and reports as "no face" for the
# whole call (face_pipeline/detect.py works around it).
PNET_MIN_SIDE = 11


def build_scale_pyramid(
    width: int, height: int, min_face_size: int, scale_factor: float, min_size: int = 12
) -> np.ndarray:
    """The scales of the image pyramid (mtcnn.utils.images.build_scale_pyramid)."""
    min_dim = min(width, height)
    scales_count = round(-((np.log(min_dim / min_size) / np.log(scale_factor)) + 1))
    m = min_size / min_face_size
    return m * scale_factor ** np.arange(scales_count)


def area_resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """``tf.image.resize(images, (height, width), method=AREA)`` for an (N, H, W, C) float32
    batch that shrinks: each output pixel is the mean of the input area it covers, with
    fractional weights at the edges. OpenCV's INTER_AREA is that same mean when shrinking
    (not when enlarging: the pyramid only shrinks); it sums in another order, so values
    differ from TensorFlow's in the last bits (tests/pipeline/test_onnx_detectors.py), at a
    third of the time of a NumPy version of the kernel (docs/performance.md)."""
    if height > images.shape[1] or width > images.shape[2]:
        raise ValueError("area_resize only shrinks")
    resized = np.empty((images.shape[0], height, width, images.shape[3]), dtype=np.float32)
    for index, image in enumerate(images):
        resized[index] = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return resized


def scale_images(images: np.ndarray, scale: float) -> np.ndarray:
    """mtcnn.utils.images.scale_images: the new size is the float product, truncated (as
    TensorFlow casts it)."""
    height, width = (np.asarray(images.shape[1:3]) * scale).astype(np.int64)
    return area_resize(images, int(height), int(width))


def normalize_images_in_place(images: np.ndarray) -> np.ndarray:
    """mtcnn's ``(images - 127.5) / 128`` on a float32 batch, without two copies of it."""
    np.subtract(images, np.float32(127.5), out=images)
    np.divide(images, np.float32(128), out=images)
    return images


def pad_stack_np(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mtcnn.utils.images.pad_stack_np with its default "center" justification: images of
    different sizes are padded to the largest, the odd pixel going to the bottom/right."""
    sizes_stack = np.stack([img.shape for img in images], axis=0)
    if (sizes_stack == sizes_stack[0]).all():  # nothing to pad (the pipeline's batches)
        return np.stack(images), sizes_stack, np.zeros((len(images), 3, 2), dtype=int)
    sizes_max = sizes_stack.max(axis=0, keepdims=True)
    sizes_diff = sizes_max - sizes_stack
    sizes_mod = sizes_diff % 2
    sizes_diff = sizes_diff - sizes_mod
    pad_mask = np.asarray([[[0.5, 0.5], [0.5, 0.5], [0, 0]]])
    mod_mask = np.asarray([[[0, 1], [0, 1], [0, 0]]])
    pad_param = (pad_mask * sizes_diff[:, :, None] + mod_mask * sizes_mod[:, :, None]).astype(int)
    padded = np.stack([np.pad(img, pad) for img, pad in zip(images, pad_param, strict=True)])
    return padded, sizes_stack, pad_param


def crop_and_resize(
    images: np.ndarray, boxes: np.ndarray, box_indices: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """``tf.image.crop_and_resize`` (bilinear, extrapolation 0): ``boxes`` are (N, 4)
    [y1, x1, y2, x2] in [0, 1] of the (B, H, W, C) ``images``; returns (N, h, w, C)."""
    crop_height, crop_width = size
    _, image_height, image_width, channels = images.shape
    boxes = boxes.astype(np.float32)
    if len(boxes) == 0:
        return np.zeros((0, crop_height, crop_width, channels), dtype=np.float32)
    in_y = _sample_positions(boxes[:, 0], boxes[:, 2], image_height, crop_height)
    in_x = _sample_positions(boxes[:, 1], boxes[:, 3], image_width, crop_width)
    top, bottom, y_lerp, y_inside = _neighbours(in_y, image_height)
    left, right, x_lerp, x_inside = _neighbours(in_x, image_width)
    flat = images.reshape(-1, channels)
    first_row = box_indices.astype(np.int64)[:, None] * image_height

    def pixels(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        index = ((first_row + rows) * image_width)[:, :, None] + cols[:, None, :]
        return flat[index]

    x_weight = x_lerp[:, None, :, None]
    upper = pixels(top, left)
    upper = upper + (pixels(top, right) - upper) * x_weight
    lower = pixels(bottom, left)
    lower = lower + (pixels(bottom, right) - lower) * x_weight
    result = upper + (lower - upper) * y_lerp[:, :, None, None]
    inside = y_inside[:, :, None] & x_inside[:, None, :]
    return np.where(inside[..., None], result, np.float32(0)).astype(np.float32)


def _sample_positions(
    start: np.ndarray, end: np.ndarray, image_size: int, crop_size: int
) -> np.ndarray:
    last = np.float32(image_size - 1)
    if crop_size > 1:
        step = (end - start) * last / np.float32(crop_size - 1)
        return (
            start[:, None] * last + np.arange(crop_size, dtype=np.float32)[None, :] * step[:, None]
        )
    return (np.float32(0.5) * (start + end) * last)[:, None]


def _neighbours(
    positions: np.ndarray, image_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Floor and ceil indices (clipped where the position is outside: those samples are 0),
    the interpolation weight, and which positions are inside the image."""
    inside = (positions >= 0) & (positions <= image_size - 1)
    low = np.floor(positions)
    lerp = (positions - low).astype(np.float32)
    low_index = np.clip(low, 0, image_size - 1).astype(np.int64)
    high_index = np.clip(np.ceil(positions), 0, image_size - 1).astype(np.int64)
    return low_index, high_index, lerp, inside


def extract_patches(
    images_normalized: np.ndarray, bboxes_batch: np.ndarray, expected_size: tuple[int, int]
) -> np.ndarray:
    """mtcnn.utils.images.extract_patches: each box's patch, resized to ``expected_size``."""
    shape = images_normalized.shape
    selector = [2, 1, 4, 3]
    scale = np.asarray([[shape[1], shape[2], shape[1], shape[2]]])
    coords = bboxes_batch[:, selector] / scale
    return crop_and_resize(images_normalized, coords, bboxes_batch[:, 0].astype(int), expected_size)


def sort_by_scores(tensor: np.ndarray, scores: np.ndarray, ascending: bool = True) -> np.ndarray:
    sorted_indices = np.argsort(scores)
    return tensor[sorted_indices[:: (-2 * int(not ascending) + 1)]]


def generate_bounding_box(
    bbox_reg: np.ndarray, bbox_class: np.ndarray, threshold_face: float
) -> np.ndarray:
    """PNet's output map to [batch_index, x1, y1, x2, y2, confidence] rows, best first
    (mtcnn.utils.bboxes.generate_bounding_box)."""
    confidence_score = bbox_class[:, :, :, 1]
    index_bboxes = np.stack(np.where(confidence_score > threshold_face))
    filtered_bbox_reg = np.transpose(
        bbox_reg[index_bboxes[0], index_bboxes[1], index_bboxes[2]], (1, 0)
    )
    reg_x1, reg_y1, reg_x2, reg_y2 = filtered_bbox_reg
    strides = np.asarray([[1], [CELL_STRIDE], [CELL_STRIDE]])
    cellsize = [np.asarray([[0], [1], [1]]), np.asarray([[0], [CELL_SIZE], [CELL_SIZE]])]
    bbox_up_left = index_bboxes * strides + cellsize[0]
    bbox_bottom_right = index_bboxes * strides + cellsize[1]
    reg_w = bbox_bottom_right[2] - bbox_up_left[2]
    reg_h = bbox_bottom_right[1] - bbox_up_left[1]
    x1 = bbox_up_left[2] + reg_x1 * reg_w
    y1 = bbox_up_left[1] + reg_y1 * reg_h
    x2 = bbox_bottom_right[2] + reg_x2 * reg_w
    y2 = bbox_bottom_right[1] + reg_y2 * reg_h
    scores = confidence_score[index_bboxes[0], index_bboxes[1], index_bboxes[2]]
    bboxes_result = np.stack([index_bboxes[0], x1, y1, x2, y2, scores], axis=0).T
    return sort_by_scores(bboxes_result, scores=bboxes_result[:, -1], ascending=False)


def upscale_bboxes(bboxes_result: np.ndarray, scales: np.ndarray) -> np.ndarray:
    scales_bcast = np.expand_dims(scales[bboxes_result[:, 0].astype(int)], axis=-1)
    bboxes_result[:, 1:5] = bboxes_result[:, 1:5] / scales_bcast
    return bboxes_result


def iou(bboxes: np.ndarray, method: str = "union") -> np.ndarray:
    """Pairwise overlap of [x1, y1, x2, y2] boxes: over the union, or over the smaller box."""
    bboxes = np.stack(bboxes, axis=0)
    area_bboxes = (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1])
    bboxes_a = np.expand_dims(bboxes, axis=0)
    bboxes_b = np.expand_dims(bboxes, axis=1)
    row_inter_top = np.maximum(bboxes_a[:, :, 0], bboxes_b[:, :, 0])
    col_inter_left = np.maximum(bboxes_a[:, :, 1], bboxes_b[:, :, 1])
    row_inter_bottom = np.minimum(bboxes_a[:, :, 2], bboxes_b[:, :, 2])
    col_inter_right = np.minimum(bboxes_a[:, :, 3], bboxes_b[:, :, 3])
    height_inter = np.maximum(0, row_inter_bottom - row_inter_top)
    width_inter = np.maximum(0, col_inter_right - col_inter_left)
    area_inter = height_inter * width_inter
    if method == "union":
        area_union = area_bboxes[:, None] + area_bboxes[None, :] - area_inter
        return area_inter / area_union
    if method == "min":
        area_min = np.minimum(area_bboxes[:, None], area_bboxes[None, :])
        return area_inter / area_min
    raise ValueError("Method should be either 'union' or 'min'.")


def nms(target_iou: np.ndarray, threshold: float) -> np.ndarray:
    """mtcnn's one-pass NMS: a box goes when any earlier box overlaps it beyond
    ``threshold`` (even one that goes itself)."""
    allowed_mask = np.triu(np.ones((target_iou.shape[0], target_iou.shape[0])), k=1)
    failed_mask = (target_iou > threshold).astype(int)
    return np.where((failed_mask * allowed_mask).sum(axis=0) == 0)[0]


def smart_nms_from_bboxes(
    bboxes: np.ndarray, threshold: float, method: str = "union", initial_sort: bool = True
) -> np.ndarray:
    """NMS image by image on rows [image_id, x1, y1, x2, y2, score, ...]."""
    if initial_sort:
        bboxes = sort_by_scores(bboxes, scores=bboxes[:, 5], ascending=False)
    result = []
    for image_id in np.unique(bboxes[:, 0]):
        target_bboxes = bboxes[bboxes[:, 0] == image_id]
        target_iou = iou(target_bboxes[:, 1:5], method=method)
        result.append(target_bboxes[nms(target_iou, threshold).astype(int)])
    return np.concatenate(result, axis=0) if len(result) > 0 else np.empty((0, 6))


def resize_to_square(bboxes: np.ndarray) -> np.ndarray:
    bboxes = bboxes.copy()
    h = bboxes[:, 4] - bboxes[:, 2]
    w = bboxes[:, 3] - bboxes[:, 1]
    largest_size = np.maximum(w, h)
    bboxes[:, 1] = bboxes[:, 1] + w * 0.5 - largest_size * 0.5
    bboxes[:, 2] = bboxes[:, 2] + h * 0.5 - largest_size * 0.5
    bboxes[:, 3:5] = bboxes[:, 1:3] + np.tile(largest_size, (2, 1)).T
    return bboxes


def replace_confidence(bboxes_batch: np.ndarray, new_scores: np.ndarray) -> np.ndarray:
    bboxes_batch[:, -1] = new_scores[:, -1]
    return bboxes_batch


def adjust_bboxes(bboxes_batch: np.ndarray, bboxes_offsets: np.ndarray) -> np.ndarray:
    bboxes_batch = bboxes_batch.copy()
    w = bboxes_batch[:, 3] - bboxes_batch[:, 1] + 1
    h = bboxes_batch[:, 4] - bboxes_batch[:, 2] + 1
    sizes = np.stack([w, h, w, h], axis=-1)
    bboxes_batch[:, 1:5] += bboxes_offsets * sizes
    return bboxes_batch


def pick_matches(
    bboxes_batch: np.ndarray, scores_column: int = -1, score_threshold: float = 0.7
) -> np.ndarray:
    return bboxes_batch[np.where(bboxes_batch[:, scores_column] > score_threshold)[0]]


def adjust_landmarks(face_landmarks: np.ndarray, bboxes_batch: np.ndarray) -> np.ndarray:
    """ONet's landmarks (x1..x5, y1..y5 in [0, 1] of the box) in image pixels."""
    face_landmarks = np.array(face_landmarks, copy=True)
    w = bboxes_batch[:, 3:4] - bboxes_batch[:, 1:2] + 1
    h = bboxes_batch[:, 4:5] - bboxes_batch[:, 2:3] + 1
    face_landmarks[:, 0:5] = w * face_landmarks[:, 0:5] + bboxes_batch[:, 1:2] - 1
    face_landmarks[:, 5:10] = h * face_landmarks[:, 5:10] + bboxes_batch[:, 2:3] - 1
    return face_landmarks


def fix_bboxes_offsets(bboxes_batch: np.ndarray, pad_param: np.ndarray) -> np.ndarray:
    """Undo the batch padding: shift each image's boxes and landmarks by its top-left pad.

    As in mtcnn 1.0, the pads are paired with the image ids *present* in order (an image
    with no face shifts the pairing of the next ones: harmless here, the batches the
    pipeline makes have one frame size and no padding)."""
    bboxes_batch = bboxes_batch.copy()
    images_ids = np.unique(bboxes_batch[:, 0])
    for image_id, pad in zip(images_ids, pad_param, strict=False):
        selector = bboxes_batch[:, 0] == image_id
        bboxes_batch[np.ix_(selector, [1, 3])] -= pad[1, 0]
        bboxes_batch[np.ix_(selector, [2, 4])] -= pad[0, 0]
        bboxes_batch[np.ix_(selector, [6, 7, 8, 9, 10])] -= pad[1, 0]
        bboxes_batch[np.ix_(selector, [11, 12, 13, 14, 15])] -= pad[0, 0]
    return bboxes_batch


def limit_bboxes(bboxes_batch: np.ndarray, images_shapes: np.ndarray) -> np.ndarray:
    """Clip the boxes (not the landmarks: mtcnn's default) to [0, side - 1]."""
    fitted = bboxes_batch.copy()
    shapes = images_shapes[fitted[:, 0].astype(int)]
    fitted[:, 1] = np.minimum(np.maximum(fitted[:, 1], 0), shapes[:, 1] - 1)
    fitted[:, 3] = np.minimum(np.maximum(fitted[:, 3], 0), shapes[:, 1] - 1)
    fitted[:, 2] = np.minimum(np.maximum(fitted[:, 2], 0), shapes[:, 0] - 1)
    fitted[:, 4] = np.minimum(np.maximum(fitted[:, 4], 0), shapes[:, 0] - 1)
    return fitted


def to_json(bboxes_batch: np.ndarray, images_count: int) -> list[list[dict]]:
    """mtcnn's result dicts, one list per image: box [x, y, w, h] and keypoints rounded to
    int, confidence as is."""
    result_batch = []
    for unique_id in range(images_count):
        result = []
        for bbox in bboxes_batch[bboxes_batch[:, 0] == unique_id]:
            x1, y1, x2, y2 = bbox[1:5]
            box = np.asarray([x1, y1, x2 - x1, y2 - y1]).round().astype(int).tolist()
            marks = bbox[6:16].round().astype(int)
            keypoints = {
                "nose": [marks[2], marks[7]],
                "mouth_right": [marks[4], marks[9]],
                "right_eye": [marks[1], marks[6]],
                "left_eye": [marks[0], marks[5]],
                "mouth_left": [marks[3], marks[8]],
            }
            result.append({"box": box, "confidence": bbox[5], "keypoints": keypoints})
        result_batch.append(result)
    return result_batch
