import json
from pathlib import Path

import numpy as np
import pytest

from face_auth.cli import main
from tests.api.test_face_api import no_face_frame
from tests.conftest import MODELS_DIR
from tests.face_data import PersonFrames
from tests.pipeline.helpers import upscaled_photo

pytestmark = pytest.mark.models


@pytest.fixture(autouse=True)
def cli_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACE_AUTH_MODELS_DIR", str(MODELS_DIR))


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_models_status_reports_the_verified_weights(
    face_models: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["installed"] is True
    assert status["sha256"] == "6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af"


def test_models_status_fails_where_nothing_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FACE_AUTH_MODELS_DIR", str(tmp_path))
    assert main(["models", "status"]) == 1
    assert json.loads(capsys.readouterr().out)["installed"] is False


def test_embed_prints_one_json_line_per_image(
    alice: PersonFrames, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    face = write(tmp_path / "face.jpg", alice.enroll[0])
    empty = write(tmp_path / "empty.jpg", no_face_frame())
    missing = str(tmp_path / "missing.jpg")

    assert main(["embed", face, empty, missing]) == 1  # some images had no usable face
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [face, empty, missing]
    assert lines[0]["faces"] == 1
    assert len(lines[0]["embedding"]) == 128
    assert lines[1] == {"file": empty, "faces": 0, "error": "no face"}
    assert "cannot read" in lines[2]["error"]


def test_compare_same_and_different_person(
    alice: PersonFrames, bob: PersonFrames, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a1 = write(tmp_path / "a1.jpg", alice.enroll[0])
    a2 = write(tmp_path / "a2.jpg", alice.verify[0])
    b1 = write(tmp_path / "b1.jpg", bob.enroll[0])

    assert main(["compare", a1, a2]) == 0
    same = json.loads(capsys.readouterr().out)
    assert main(["compare", a1, b1]) == 0
    different = json.loads(capsys.readouterr().out)

    assert same["same_person"] is True
    assert different["same_person"] is False
    assert same["similarity"] > different["similarity"]


def test_embed_takes_phone_sized_photos(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """12 MP photos (the old 2048 x 2048 cap refused them) embed like a 1 MP copy, which
    needs no shrinking."""
    originals = sorted((dataset_dir / "train" / "jerry_seinfeld").glob("*"))[:2]
    big = [write(tmp_path / f"{n}.jpg", upscaled_photo(path)) for n, path in enumerate(originals)]
    small = [
        write(tmp_path / f"{n}_small.jpg", upscaled_photo(path, 1200))
        for n, path in enumerate(originals)
    ]

    assert main(["embed", *big, *small]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    vectors = [np.array(line["embedding"]) for line in lines]
    for large, copy in zip(vectors[:2], vectors[2:], strict=True):
        assert float(large @ copy) > 0.9


def test_evaluate_reports_rates_and_writes_a_roc_plot(
    dataset_dir: Path, face_models: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "two_people"
    for person in ("jerry_seinfeld", "mindy_kaling"):
        (folder / person).mkdir(parents=True)
        for photo in sorted((dataset_dir / "train" / person).glob("*"))[:10]:
            (folder / person / photo.name).write_bytes(photo.read_bytes())
    # One of them as a 12 MP phone photo: photo mode takes it like the others.
    phone = folder / "mindy_kaling" / "phone.jpg"
    phone.write_bytes(upscaled_photo(sorted((folder / "mindy_kaling").glob("*"))[0]))
    roc = tmp_path / "roc.png"

    assert main(["evaluate", str(folder), "--relaxed-gates", "--roc", str(roc)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["people"] == 2 and report["images"] == 21
    assert "mindy_kaling/phone.jpg" not in report["rejected"]
    enrollment = report["enrollment"]
    assert enrollment["genuine"] > 0 and enrollment["impostor"] > 0
    assert enrollment["genuine_mean"] > enrollment["impostor_mean"] + 0.3
    pairs = report["single_image_pairs"]
    assert pairs["genuine"] + pairs["impostor"] == (
        report["usable_images"] * (report["usable_images"] - 1) // 2
    )
    assert set(pairs["tar_at_far"]) == {"1%", "0.1%"}
    assert 0.5 < pairs["tar_at_far"]["1%"]["tar"] <= 1.0
    closest = report["closest_impostor_pairs"]
    assert len(closest) == 5
    assert closest[0]["similarity"] == pairs["highest_impostor"]
    assert all(pair["a"].split("/")[0] != pair["b"].split("/")[0] for pair in closest)
    assert roc.read_bytes().startswith(b"\x89PNG")
