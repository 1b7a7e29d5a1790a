from itertools import pairwise

import numpy as np

from face_auth.evaluation import Scores, equal_error_rate, far_frr, roc_points


def test_far_frr_count_each_side_of_the_threshold() -> None:
    scores = Scores(genuine=np.array([0.9, 0.7, 0.4]), impostor=np.array([0.1, 0.5, 0.2, 0.0]))
    assert far_frr(scores, 0.45) == (0.25, 1 / 3)
    assert far_frr(scores, 0.95) == (0.0, 1.0)


def test_eer_is_zero_when_classes_separate() -> None:
    separated = Scores(genuine=np.array([0.8, 0.9]), impostor=np.array([0.1, 0.2]))
    eer, threshold = equal_error_rate(separated)
    assert eer == 0.0
    assert 0.2 < threshold <= 0.8


def test_roc_runs_from_accept_nothing_to_accept_everything() -> None:
    scores = Scores(genuine=np.array([0.8, 0.3]), impostor=np.array([0.5, 0.1]))
    points = roc_points(scores)
    assert points[0] == (0.0, 0.0)
    assert points[-1] == (1.0, 1.0)
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in pairwise(points))
