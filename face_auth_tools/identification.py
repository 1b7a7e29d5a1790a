"""Open-set identification (1:N) on a folder of `person/image` files, for
`face-auth evaluate identify`: some people are enrolled, the others are strangers; every other
photo of an enrolled person and every photo of a stranger is searched against the gallery,
and decided by the app's own rule (business_val/identify/rules.py) at the configured threshold
and margin.

Enrolment and probes follow the login protocol (face_auth_tools/evaluation.py): a template is
the mean of the camera-like frames of a few photos, a probe the mean of the gated frames of
one other photo. Every split of the people into enrolled and strangers is run, so each person
is a stranger in some splits.
"""

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from face_auth.business_val.identify.rules import (
    IdentifyPolicy,
    accepts,
    impostor_model,
    search,
)
from face_auth.face_pipeline import FaceModels, PipelineConfig, mean_embedding
from face_auth_tools.evaluation import images_by_person, login_trials, photo_frame_embeddings

ENROLL_PHOTOS = 2
# Random templates per person for the impostor scores the threshold is modelled on.
IMPOSTOR_TEMPLATES_PER_PERSON = 30
# Share of the people enrolled in each split (the rest are strangers).
ENROLLED_SHARE = 0.6


@dataclass(frozen=True)
class Gallery:
    people: list[str]
    matrix: np.ndarray  # (people, D), unit rows


@dataclass
class Tally:
    genuine: int = 0
    rank1: int = 0  # the right person ranked first, whatever the threshold
    identified: int = 0  # the right person returned (threshold and margin passed)
    misidentified: int = 0  # another enrolled person returned
    refused_by_margin: int = 0  # the best reached the threshold, the second was too close
    strangers: int = 0
    false_identifications: int = 0

    def as_dict(self) -> dict[str, object]:
        def rate(count: int, total: int) -> float | None:
            return round(count / total, 4) if total else None

        return {
            "genuine_searches": self.genuine,
            "stranger_searches": self.strangers,
            "rank1_rate": rate(self.rank1, self.genuine),
            "identification_rate": rate(self.identified, self.genuine),
            "misidentification_rate": rate(self.misidentified, self.genuine),
            "refused_by_margin": self.refused_by_margin,
            "false_identification_rate": rate(self.false_identifications, self.strangers),
            "false_identifications": self.false_identifications,
        }


def split_photos(
    frames: dict[Path, np.ndarray], person_of: dict[Path, str], enroll_photos: int
) -> tuple[dict[str, np.ndarray], dict[Path, np.ndarray]]:
    """Each person's template (the mean of all frames of their first ``enroll_photos`` usable
    photos), and every other usable photo's probe (the mean of its frames)."""
    templates: dict[str, np.ndarray] = {}
    probes: dict[Path, np.ndarray] = {}
    for person in sorted(set(person_of.values())):
        own = sorted(path for path in frames if person_of[path] == person)
        if len(own) <= enroll_photos:
            continue
        chosen = own[:enroll_photos]
        templates[person] = mean_embedding(np.concatenate([frames[p] for p in chosen]))
        probes.update({path: mean_embedding(frames[path]) for path in own[enroll_photos:]})
    return templates, probes


def open_set_trials(
    templates: dict[str, np.ndarray],
    probes: dict[Path, np.ndarray],
    person_of: dict[Path, str],
    threshold: float,
    margin: float,
    enrolled_count: int,
) -> tuple[Tally, int]:
    """Every split of the people into ``enrolled_count`` enrolled and the rest strangers;
    returns the tally and the number of splits."""
    people = sorted(templates)
    tally, splits = Tally(), 0
    for enrolled in combinations(people, enrolled_count):
        splits += 1
        gallery = np.stack([templates[person] for person in enrolled])
        for path, probe in probes.items():
            candidates = search(gallery, probe)
            assert candidates is not None
            matched = accepts(candidates, threshold, margin)
            returned = enrolled[candidates.best_row]
            tally.refused_by_margin += not matched and candidates.best >= threshold
            if person_of[path] in enrolled:
                tally.genuine += 1
                tally.rank1 += returned == person_of[path]
                tally.identified += matched and returned == person_of[path]
                tally.misidentified += matched and returned != person_of[path]
            else:
                tally.strangers += 1
                tally.false_identifications += matched
    return tally, splits


def evaluate_identification(
    folder: Path,
    models: FaceModels,
    config: PipelineConfig,
    policy: IdentifyPolicy,
    enroll_photos: int = ENROLL_PHOTOS,
    seed: int = 0,
) -> dict[str, object]:
    """The open-set report, JSON-ready."""
    people = images_by_person(folder)
    person_of = {path: person for person, paths in people.items() for path in paths}
    rng = np.random.default_rng(seed)
    frames: dict[Path, np.ndarray] = {}
    for path in sorted(person_of):
        rows = photo_frame_embeddings(models, path, config, rng)
        if rows is not None:
            frames[path] = rows
    templates, probes = split_photos(frames, person_of, enroll_photos)
    if len(templates) < 2:  # noqa: PLR2004 - one enrolled and one stranger at least
        raise ValueError(
            f"need at least 2 people with more than {enroll_photos} usable photos "
            f"(found {len(templates)})"
        )
    enrolled_count = min(len(templates) - 1, max(1, round(len(templates) * ENROLLED_SHARE)))
    threshold = policy.threshold()
    tally, splits = open_set_trials(
        templates, probes, person_of, threshold, policy.margin, enrolled_count
    )
    # The impostor distribution, from many templates (random photo sets) per person.
    trials = login_trials(frames, person_of, enroll_photos, IMPOSTOR_TEMPLATES_PER_PERSON, seed)
    impostors = trials.scores.impostor
    measured = impostor_model(impostors)
    measured_policy = IdentifyPolicy(
        gallery_size=policy.gallery_size,
        false_identification_rate=policy.false_identification_rate,
        margin=policy.margin,
        impostors=measured,
        floor=policy.floor,
    )
    return {
        "protocol": f"template: {enroll_photos} photos x camera-like frames; probe: mean of the "
        "gated frames of another photo; every split of the people into enrolled and strangers",
        "people": len(people),
        "photos": len(person_of),
        "usable_photos": len(frames),
        "people_enrolled_per_split": enrolled_count,
        "splits": splits,
        "threshold": round(threshold, 4),
        "margin": policy.margin,
        "gallery_size": policy.gallery_size,
        "target_false_identification_rate": policy.false_identification_rate,
        **tally.as_dict(),
        "impostor_scores": {
            "count": int(impostors.size),
            "mean": round(measured.mean, 4),
            "std": round(float(impostors.std(ddof=1)), 4),
            "tail_spread": round(measured.spread, 4),
            "highest": round(float(impostors.max()), 4),
            # The threshold these scores give at the configured gallery size and target.
            "threshold_from_these_scores": round(measured_policy.threshold(), 4),
            "model_threshold_before_floor": round(
                measured.per_comparison_threshold(
                    policy.false_identification_rate / policy.gallery_size
                ),
                4,
            ),
        },
    }
