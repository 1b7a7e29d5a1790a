"""`face-auth kiosks add|list|remove` and `face-auth evaluate identify --dataset DIR`."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from pymongo import MongoClient

from face_auth.cli import main
from face_auth.config import Settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_add_list_and_remove_kiosks(
    cli_env: Settings, mongo: MongoClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code, added = run(capsys, "kiosks", "add", "Front door")
    assert code == 0
    assert added["name"] == "Front door"
    token = added["token"]
    assert token.startswith(f"fak_{added['kiosk_id']}.")
    secret = token.split(".", 1)[1]
    stored = mongo[cli_env.database_name]["kiosks"].find_one({"_id": added["kiosk_id"]})
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(stored, default=str)

    code, second = run(capsys, "kiosks", "add", "Lobby")
    assert code == 0 and second["kiosk_id"] != added["kiosk_id"]
    code, listed = run(capsys, "kiosks", "list")
    assert code == 0
    assert [(k["kiosk_id"], k["name"]) for k in listed] == [
        (added["kiosk_id"], "Front door"),
        (second["kiosk_id"], "Lobby"),
    ]
    assert "token" not in json.dumps(listed) and secret not in json.dumps(listed)

    code, removed = run(capsys, "kiosks", "remove", added["kiosk_id"])
    assert (code, removed) == (0, {"removed": added["kiosk_id"]})
    code, listed = run(capsys, "kiosks", "list")
    assert [k["name"] for k in listed] == ["Lobby"]
    code, missing = run(capsys, "kiosks", "remove", added["kiosk_id"])
    assert code == 1 and "No kiosk" in missing["error"]
    code, bad = run(capsys, "kiosks", "add", "   ")
    assert code == 1 and "printable name" in bad["fields"]["name"]


def test_evaluate_identify_reports_open_set_rates(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], face_models: object
) -> None:
    """Three people, four photos each: every split enrolls two of them, the third is the
    stranger."""
    folder = tmp_path / "people"
    for person in ("jerry_seinfeld", "madonna", "mindy_kaling"):
        photos = sorted((dataset_dir / "train" / person).glob("*.jpg"))[:4]
        (folder / person).mkdir(parents=True)
        for photo in photos:
            shutil.copy(photo, folder / person / photo.name)
    code, report = run(capsys, "evaluate", "identify", "--dataset", str(folder), "--relaxed-gates")
    assert code == 0, report
    assert (report["people"], report["photos"], report["people_enrolled_per_split"]) == (3, 12, 2)
    assert report["splits"] == 3
    probes = report["usable_photos"] - 3 * 2  # two photos of each person make the template
    # Each probe is searched once per split: genuine where its person is enrolled.
    assert report["genuine_searches"] + report["stranger_searches"] == 3 * probes
    assert report["threshold"] >= Settings().face_match_threshold
    assert report["rank1_rate"] >= 0.75
    assert report["false_identification_rate"] == 0.0
    assert report["misidentification_rate"] == 0.0
    impostors = report["impostor_scores"]
    assert impostors["count"] > 0 and impostors["highest"] < report["threshold"]
    assert impostors["tail_spread"] >= impostors["std"] > 0


def test_evaluate_identify_needs_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(capsys, "evaluate", "identify", "--dataset", "/no/such/folder")
    assert code == 2 and "not a folder" in report["error"]
    code, report = run(capsys, "evaluate", "/no/such/folder", "--dataset", "/tmp")
    assert code == 2 and "evaluate identify" in report["error"]
