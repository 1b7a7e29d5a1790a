from itertools import pairwise
from pathlib import Path

import numpy as np

from face_auth.face_pipeline import l2_normalize
from face_auth_tools.evaluation import (
    Scores,
    closest_impostor_pairs,
    equal_error_rate,
    far_frr,
    login_trials,
    roc_points,
    tar_at_far,
    template_draws,
)


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


def test_tar_at_far_puts_the_threshold_just_above_the_refused_impostors() -> None:
    impostor = np.linspace(0.0, 0.99, 100)  # 0.00, 0.01, ..., 0.99
    scores = Scores(genuine=np.array([0.5, 0.985, 0.995, 0.999]), impostor=impostor)
    tar, threshold = tar_at_far(scores, 0.01)  # one impostor (0.99) may pass
    assert 0.98 < threshold <= 0.9800001
    assert far_frr(scores, threshold)[0] == 0.01
    assert tar == 0.75
    tar, threshold = tar_at_far(scores, 0.001)  # none may pass
    assert 0.99 < threshold <= 0.9900001
    assert tar == 0.5


def test_closest_impostor_pairs_skip_same_person_pairs() -> None:
    unit = {
        Path("a/1.jpg"): np.array([1.0, 0.0]),
        Path("a/2.jpg"): np.array([0.99, 0.141]),
        Path("b/1.jpg"): np.array([0.8, 0.6]),
        Path("c/1.jpg"): np.array([0.0, 1.0]),
    }
    person_of = {path: path.parent.name for path in unit}
    pairs = closest_impostor_pairs(unit, person_of, count=2)
    assert [(a.as_posix(), b.as_posix()) for _, a, b in pairs] == [
        ("a/2.jpg", "b/1.jpg"),
        ("a/1.jpg", "b/1.jpg"),
    ]
    assert pairs[0][0] > pairs[1][0]


def person_frames(seed: int, direction: np.ndarray, photos: int) -> list[np.ndarray]:
    """Unit embeddings near ``direction``: 8 noisy frames per photo."""
    rng = np.random.default_rng(seed)
    return [
        l2_normalize(direction + rng.normal(0, 0.3, (8, direction.size))) for _ in range(photos)
    ]


def test_login_trials_score_templates_against_other_photos() -> None:
    axes = np.eye(16)
    frames, person_of = {}, {}
    for index, person in enumerate(("ann", "bob", "cy")):
        for number, rows in enumerate(person_frames(index, axes[index], 4)):
            path = Path(person) / f"{number}.jpg"
            frames[path], person_of[path] = rows, person
    trials = login_trials(frames, person_of, enroll_photos=2, templates_per_person=6)
    assert trials.templates == 18  # C(4, 2) = 6 distinct templates per person
    assert trials.scores.genuine.size == 18 * 2  # the 2 photos not in the template
    assert trials.scores.impostor.size == 18 * 8  # the 8 photos of the two others
    assert trials.scores.genuine.min() > 0.8
    assert trials.scores.impostor.max() < 0.3
    assert trials.nearest_impostor is not None
    score, person, draw, probe = trials.nearest_impostor
    assert score == trials.scores.impostor.max()
    assert person_of[probe] != person and all(person_of[path] == person for path in draw)


def test_template_draws_are_distinct_and_bounded() -> None:
    paths = [Path(f"{n}.jpg") for n in range(5)]
    draws = template_draws(paths, 2, 100, np.random.default_rng(0))
    assert len(draws) == len(set(draws)) <= 10
    assert all(len(set(draw)) == 2 for draw in draws)
