"""The mailed links' repository against the real database: single use, purpose, expiry, TTL."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from face_auth.data_access import Database, EmailTokenRepository
from face_auth.utils import utc_now

RESET, VERIFY = "password_reset", "email_verification"


def add(tokens: EmailTokenRepository, token_hash: str, purpose: str = RESET,
        user_id: str = "u1", minutes: int = 30) -> None:  # fmt: skip
    now = utc_now()
    tokens.add(token_hash, purpose, user_id, "a@example.com", now, now + timedelta(minutes=minutes))


def test_a_link_is_consumed_once_even_when_raced(database: Database) -> None:
    tokens = EmailTokenRepository(database)
    add(tokens, "h1")
    assert tokens.find_usable("h1", RESET, utc_now()) is not None
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: tokens.consume("h1", RESET, utc_now()), range(16)))
    winners = [record for record in results if record is not None]
    assert len(winners) == 1
    assert winners[0].user_id == "u1" and winners[0].email == "a@example.com"
    assert tokens.find_usable("h1", RESET, utc_now()) is None
    assert database.db["email_tokens"].find_one({"_id": "h1"})["used_at"] is not None


def test_purpose_and_expiry_are_part_of_the_match(database: Database) -> None:
    tokens = EmailTokenRepository(database)
    add(tokens, "verify", purpose=VERIFY)
    add(tokens, "old", minutes=-1)
    assert tokens.consume("verify", RESET, utc_now()) is None
    assert tokens.consume("old", RESET, utc_now()) is None
    assert tokens.consume("unknown", RESET, utc_now()) is None
    assert tokens.consume("verify", VERIFY, utc_now()) is not None


def test_all_of_a_users_links_can_be_spent_or_deleted(database: Database) -> None:
    tokens = EmailTokenRepository(database)
    add(tokens, "a")
    add(tokens, "b")
    add(tokens, "c", purpose=VERIFY)
    add(tokens, "d", user_id="u2")
    assert tokens.use_all_for_user("u1", RESET, utc_now()) == 2
    assert tokens.find_usable("a", RESET, utc_now()) is None
    assert tokens.find_usable("c", VERIFY, utc_now()) is not None
    assert tokens.find_usable("d", RESET, utc_now()) is not None
    tokens.delete_for_user("u1")
    assert database.db["email_tokens"].count_documents({"user_id": "u1"}) == 0
    assert database.db["email_tokens"].count_documents({"user_id": "u2"}) == 1


def test_expired_links_are_removed_by_a_ttl_index(database: Database) -> None:
    indexes = database.db["email_tokens"].index_information()
    assert indexes["expiry_ttl"]["expireAfterSeconds"] == 0
    assert indexes["expiry_ttl"]["key"] == [("expires_at", 1)]
    assert "user_id" in indexes
