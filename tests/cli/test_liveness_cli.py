"""`face-auth evaluate-liveness` on a small subset of the 5-celebrity photos: the attack set is
built, every presentation goes through the app's liveness decision, and the last line is the
machine-readable summary. The full measurement (docs/liveness.md) runs on every photo."""

import json
import re
from pathlib import Path

import pytest

from face_auth.cli import main
from tests.conftest import MODELS_DIR
from tests.liveness_data import REAL_VIDEO

pytestmark = pytest.mark.models

PEOPLE = ("jerry_seinfeld", "mindy_kaling", "madonna")
SUMMARY = re.compile(
    r"apcer_replay=(?P<replay>[01]\.\d{4}) apcer_print=(?P<print>[01]\.\d{4}) "
    r"apcer_screen=(?P<screen>[01]\.\d{4}) "
    r"apcer_wrong_challenge=(?P<wrong_challenge>[01]\.\d{4}) "
    r"apcer_animation=(?P<animation>[01]\.\d{4}) apcer_sequence=(?P<sequence>[01]\.\d{4}) "
    r"bpcer=(?P<bpcer>[01]\.\d{4})"
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

    args = ["evaluate-liveness", str(subset), "--per-person", "2", "--seed", "3"]
    assert main([*args, "--video", str(REAL_VIDEO)]) == 0
    output = capsys.readouterr().out.rstrip("\n")
    body, last = output.rsplit("\n", 1)
    match = SUMMARY.fullmatch(last)
    assert match, last
    rates = {name: float(value) for name, value in match.groupdict().items()}
    assert rates["replay"] == 0.0
    assert rates["wrong_challenge"] == 0.0
    assert rates["animation"] == 0.0
    assert rates["bpcer"] == 0.0

    report = json.loads(body)
    assert report["split"] == "held_out"
    assert report["subjects"] == 2 * len(PEOPLE)
    table = report["table"]
    # Each photo: two animations, two replays, two prints, two screens, one wrong challenge,
    # and a photo sequence where another photo of the person is turned further.
    for row in ("animation/mesh_render", "animation/pivot_warp", "replay/repeated",
                "print/turned_as_asked", "wrong_challenge"):  # fmt: skip
        assert table[row]["presentations"] == 2 * len(PEOPLE), row
    assert 1 <= table["sequence"]["presentations"] <= 2 * len(PEOPLE)
    # Bona fide: only the real clip's runs; no render of a photo.
    assert table["bona_fide"]["presentations"] == table["bona_fide/real_video"]["presentations"]
    assert table["bona_fide"]["presentations"] >= 5
    assert report["bona_fide_checks"]["single_picture"]["refused"] == 0
    assert report["reasons"]["replay"] == {"repeated_frames": 4 * len(PEOPLE)}
    assert report["apcer"]["print"] == rates["print"]
