"""`face-auth clients add|list|remove` and `face-auth signing-key list|rotate`."""

import json

import pytest
from pymongo import MongoClient

from face_auth.business_val.oidc.rules import token_hash
from face_auth.cli import main
from face_auth.config import Settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_add_list_and_remove_clients(
    cli_env: Settings, mongo: MongoClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code, confidential = run(
        capsys, "clients", "add", "--name", "Wiki", "--redirect-uri",
        "https://wiki.example.com/oidc/callback", "--redirect-uri", "http://127.0.0.1:9000/cb",
    )  # fmt: skip
    assert code == 0
    assert confidential["type"] == "confidential"
    assert confidential["token_endpoint_auth_methods"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert confidential["id_token_signed_response_alg"] == "RS256"
    assert confidential["redirect_uris"] == [
        "https://wiki.example.com/oidc/callback",
        "http://127.0.0.1:9000/cb",
    ]
    secret = confidential["client_secret"]
    assert len(secret) >= 40
    stored = mongo[cli_env.database_name]["oauth_clients"].find_one(
        {"_id": confidential["client_id"]}
    )
    assert stored["secret_hash"] == token_hash(secret)
    assert secret not in json.dumps(stored, default=str)

    code, public = run(
        capsys, "clients", "add", "--name", "CLI tool", "--redirect-uri",
        "http://localhost:8400/callback", "--public", "--id-token-alg", "ES256",
        "--allowed-origin", "http://localhost:8400",
        "--post-logout-redirect-uri", "http://localhost:8400/signed-out",
    )  # fmt: skip
    assert code == 0
    assert public["type"] == "public"
    assert public["token_endpoint_auth_methods"] == ["none"]
    assert public["id_token_signed_response_alg"] == "ES256"
    assert public["allowed_origins"] == ["http://localhost:8400"]
    assert public["post_logout_redirect_uris"] == ["http://localhost:8400/signed-out"]
    assert "client_secret" not in public

    code, listed = run(capsys, "clients", "list")
    assert code == 0
    assert [client["name"] for client in listed] == ["Wiki", "CLI tool"]
    assert all("client_secret" not in client for client in listed)  # shown once only

    assert run(capsys, "clients", "remove", public["client_id"]) == (
        0,
        {"removed": public["client_id"]},
    )
    code, missing = run(capsys, "clients", "remove", public["client_id"])
    assert code == 1
    assert "No client" in missing["error"]
    assert [client["name"] for client in run(capsys, "clients", "list")[1]] == ["Wiki"]


@pytest.mark.parametrize(
    "uri",
    ["http://wiki.example.com/callback", "https://wiki.example.com/cb#x", "/callback"],
)
def test_unsafe_redirect_uris_are_refused(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    code, output = run(capsys, "clients", "add", "--name", "Wiki", "--redirect-uri", uri)
    assert code == 1
    assert "redirect_uri" in output["fields"]


def test_signing_key_rotation(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, listed = run(capsys, "signing-key", "list")
    assert code == 0
    first = listed["keys"]
    assert [(key["alg"], key["current"]) for key in first] == [("RS256", True), ("ES256", True)]
    assert (cli_env.oidc_keys_path.stat().st_mode & 0o777) == 0o600

    code, rotated = run(capsys, "signing-key", "rotate")
    assert code == 0
    assert rotated["retired"] == [key["kid"] for key in first]
    assert set(rotated["published"]) == {key["kid"] for key in first} | set(rotated["current"])
    keys = run(capsys, "signing-key", "list")[1]["keys"]
    assert [(key["kid"], key["current"]) for key in keys] == [
        *((key["kid"], False) for key in first),
        *((kid, True) for kid in rotated["current"]),
    ]
