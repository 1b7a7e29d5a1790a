"""`face-auth evaluate-liveness` on a small subset of the 5-celebrity photos: the attack set is
built, every presentation goes through the app's liveness decision, and the last line is the
machine-readable summary. The full measurement (docs/liveness.md) runs on every photo."""

import json
import re
from pathlib import Path

import pytest

from face_auth.cli import main
from tests.conftest import MODELS_DIR

pytestmark = pytest.mark.models

PEOPLE = ("jerry_seinfeld", "mindy_kaling", "madonna")
SUMMARY = re.compile(
    r"apcer_replay=(?P<replay>[01]\.\d{4}) apcer_print=(?P<print>[01]\.\d{4}) "
    r"apcer_screen=(?P<screen>[01]\.\d{4}) "
    r"apcer_wrong_challenge=(?P<wrong_challenge>[01]\.\d{4}) bpcer=(?P<bpcer>[01]\.\d{4})"
)


def test_evaluate_liveness_on_a_subset(
    face_models: object, dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("FACE_AUTH_MODELS_DIR", str(MODELS_DIR))
    subset = tmp_path / "photos"
    for person in PEOPLE:
        (subset / person).mkdir(parents=True)
        for photo in sorted((dataset_dir / "train" / person).glob("*")):
            (subset / person / photo.name).symlink_to(photo)

    assert main(["evaluate-liveness", str(subset), "--per-person", "1", "--seed", "3"]) == 0
    output = capsys.readouterr().out.rstrip("\n")
    body, last = output.rsplit("\n", 1)
    match = SUMMARY.fullmatch(last)
    assert match, last
    rates = {name: float(value) for name, value in match.groupdict().items()}
    assert rates["replay"] == 0.0
    assert rates["wrong_challenge"] == 0.0

    report = json.loads(body)
    assert report["subjects"] == len(PEOPLE)
    table = report["table"]
    # One subject: a bona fide turn, two replays, two prints, two screens, one wrong challenge.
    assert table["bona_fide"]["presentations"] == len(PEOPLE)
    assert table["replay/repeated"]["presentations"] == len(PEOPLE)
    assert table["print/turned_as_asked"]["presentations"] == len(PEOPLE)
    assert table["wrong_challenge"]["presentations"] == len(PEOPLE)
    assert report["reasons"]["replay"] == {"repeated_frames": 2 * len(PEOPLE)}
    assert report["apcer"]["print"] == rates["print"]
