"""UserRepository on the real engine: lookups, argon2 passwords, preferences, sessions."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from factories import new_user as make_user
from logfire.testing import CaptureLogfire
from surrealdb import RecordID

from agentical_repo import AlreadyExistsError, ConflictError, NotFoundError, TransactionError, ValidationError
from agentical_repo.surql.statement import Statement

PASSWORD = "correct horse battery staple 7f3a"


async def raw_user_row(db: Any, user_id: uuid.UUID) -> dict[str, Any]:
    rows = await db.query("SELECT * FROM ONLY $id", {"id": RecordID("user", user_id)})
    row: dict[str, Any] = rows[0]
    return row


async def session_rows(db: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await db.query("SELECT * FROM user_session"))[0]
    return rows


# ----------------------------------------------------------------- create_user / lookups


async def test_create_user_hashes_in_database(db: Any, repos: Any) -> None:
    with db.count_requests() as c:
        user = await repos.users.create_user(make_user(display_name="Alice"), PASSWORD)
    assert c.count == 1
    assert user.username == "alice"
    assert user.display_name == "Alice"
    assert user.created_at is not None
    assert not hasattr(user, "password_hash")
    assert PASSWORD not in user.model_dump_json()
    row = await raw_user_row(db, user.id)
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in json.dumps(row, default=str)


async def test_password_never_in_spans_or_errors(db: Any, repos: Any, capfire: CaptureLogfire) -> None:
    user = await repos.users.create_user(make_user("spanned"), PASSWORD)
    assert await repos.users.authenticate("spanned@example.com", PASSWORD) is not None
    await repos.users.set_password(user.id, PASSWORD + "-new")
    with pytest.raises(AlreadyExistsError) as info:
        await repos.users.create_user(make_user("spanned"), PASSWORD)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value.context)
    spans = capfire.exporter.exported_spans_as_dict()
    db_spans = [s for s in spans if s["attributes"].get("db.system.name") == "surrealdb"]
    assert len(db_spans) >= 4  # the operations above really were traced
    dumped = json.dumps(spans, default=str)
    assert PASSWORD not in dumped
    assert "$argon2" not in dumped


async def test_duplicate_email_differing_in_case_is_refused(repos: Any) -> None:
    await repos.users.create_user(make_user("bob", "Bob@Example.com"), PASSWORD)
    with pytest.raises(AlreadyExistsError):
        await repos.users.create_user(make_user("bob2", "bob@EXAMPLE.com"), PASSWORD)
    with pytest.raises(AlreadyExistsError):
        await repos.users.create_user(make_user("bob", "other@example.com"), PASSWORD)
    assert await repos.users.count() == 1


async def test_get_by_email_case_insensitive_and_username(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("carol", "Carol.Smith@Example.com"), PASSWORD)
    with db.count_requests() as c:
        by_email = await repos.users.get_by_email("carol.smith@EXAMPLE.COM")
        by_name = await repos.users.get_by_username("carol")
    assert c.count == 2
    assert by_email == user
    assert by_name == user
    assert by_email is not None
    assert by_email.email == "Carol.Smith@Example.com"


async def test_lookups_missing(repos: Any) -> None:
    await repos.users.create_user(make_user("dave"), PASSWORD)
    assert await repos.users.get_by_email("nobody@example.com") is None
    assert await repos.users.get_by_username("Dave") is None  # usernames are case-sensitive
    assert await repos.users.get_by_username("nobody") is None


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("create_user", (make_user("x"), "")),
        ("create_user", (make_user("x"), None)),
        ("create_user", (make_user("x"), 12345)),
        ("create_user", (make_user("x"), "p" * 1025)),
        ("create_user", ({"username": "x", "email": "x@example.com"}, PASSWORD)),
        ("get_by_email", ("",)),
        ("get_by_email", ("   ",)),
        ("get_by_email", (None,)),
        ("get_by_username", ("",)),
        ("get_by_username", (7,)),
        ("authenticate", ("a@example.com", "")),
        ("authenticate", ("", PASSWORD)),
        ("authenticate", ("a@example.com", b"bytes")),
        ("set_password", (uuid.uuid4(), "")),
        ("set_password", ("nope", PASSWORD)),
    ],
)
async def test_user_bad_input_no_io(db: Any, repos: Any, method: str, args: tuple[Any, ...]) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError) as info:
        await getattr(repos.users, method)(*args)
    assert c.count == 0
    assert PASSWORD not in str(info.value)


# ----------------------------------------------------------------- authenticate


async def test_authenticate(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("erin", "Erin@Example.com"), PASSWORD)
    with db.count_requests() as c:
        ok = await repos.users.authenticate("erin@example.com", PASSWORD)
    assert c.count == 1
    assert ok == user
    assert await repos.users.authenticate("erin@example.com", PASSWORD + "x") is None
    assert await repos.users.authenticate("ERIN@example.com", PASSWORD.upper()) is None
    with db.count_requests() as c:
        assert await repos.users.authenticate("unknown@example.com", PASSWORD) is None
    assert c.count == 1


async def test_authenticate_inactive_or_passwordless_user(repos: Any) -> None:
    user = await repos.users.create_user(make_user("frank"), PASSWORD)
    await repos.users.update(user.id, {"is_active": False})
    assert await repos.users.authenticate("frank@example.com", PASSWORD) is None
    plain = await repos.users.create(make_user("grace"))  # created without a password
    assert plain.username == "grace"
    assert await repos.users.authenticate("grace@example.com", PASSWORD) is None


async def test_model_updates_keep_the_hash(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("heidi"), PASSWORD)
    await repos.users.update(user.id, {"display_name": "H"})
    await repos.users.upsert(user.model_copy(update={"display_name": "H2"}))
    assert (await raw_user_row(db, user.id))["password_hash"].startswith("$argon2id$")
    assert await repos.users.authenticate("heidi@example.com", PASSWORD) is not None


async def test_set_password(repos: Any) -> None:
    user = await repos.users.create_user(make_user("ivan"), PASSWORD)
    token = await repos.users.create_session(user.id, timedelta(hours=1))
    await repos.users.set_password(user.id, "new secret")
    assert await repos.users.authenticate("ivan@example.com", PASSWORD) is None
    assert await repos.users.authenticate("ivan@example.com", "new secret") is not None
    assert await repos.users.get_session(token) is None  # sessions revoked by default
    assert (await repos.users.get(user.id)).version == 2
    with pytest.raises(NotFoundError):
        await repos.users.set_password(uuid.uuid4(), "x")


# ----------------------------------------------------------------- preferences


async def test_update_preferences_deep_merges(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(
        make_user("judy", preferences={"ui": {"theme": "dark", "font": 12}, "lang": "en"}), PASSWORD
    )
    with db.count_requests() as c:
        updated = await repos.users.update_preferences(
            user.id, {"ui": {"font": 14, "density": "compact"}, "tz": "UTC", "beta": None}
        )
    assert c.count == 1
    assert updated.preferences == {
        "ui": {"theme": "dark", "font": 14, "density": "compact"},
        "lang": "en",
        "tz": "UTC",
        "beta": None,
    }
    assert updated.version == 2
    again = await repos.users.update_preferences(user.id, {"lang": "fr"}, expected_version=2)
    assert again.version == 3
    assert again.preferences["lang"] == "fr"
    assert again.preferences["ui"]["font"] == 14
    with pytest.raises(ConflictError):
        await repos.users.update_preferences(user.id, {"lang": "de"}, expected_version=2)
    assert (await repos.users.get(user.id)).preferences["lang"] == "fr"
    assert (await raw_user_row(db, user.id))["password_hash"].startswith("$argon2id$")


async def test_update_preferences_missing_user(repos: Any) -> None:
    with pytest.raises(NotFoundError):
        await repos.users.update_preferences(uuid.uuid4(), {"a": 1})


@pytest.mark.parametrize(
    ("user_id", "prefs", "kwargs"),
    [
        (uuid.uuid4(), {}, {}),
        (uuid.uuid4(), None, {}),
        (uuid.uuid4(), [("a", 1)], {}),
        (uuid.uuid4(), {1: "int key"}, {}),
        ("not-a-uuid", {"a": 1}, {}),
        (uuid.uuid4(), {"a": 1}, {"expected_version": "1"}),
    ],
)
async def test_update_preferences_bad_input_no_io(
    db: Any, repos: Any, user_id: Any, prefs: Any, kwargs: dict[str, Any]
) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.users.update_preferences(user_id, prefs, **kwargs)
    assert c.count == 0


# ----------------------------------------------------------------- sessions


async def test_session_lifecycle(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("ken"), PASSWORD)
    with db.count_requests() as c:
        token = await repos.users.create_session(user.id, timedelta(hours=1))
    assert c.count == 1
    assert isinstance(token, str)
    assert len(token) >= 40
    rows = await session_rows(db)
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(rows, default=str)
    assert rows[0]["user"] == RecordID("user", user.id)
    lifetime = rows[0]["expires_at"] - rows[0]["created_at"]
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1, seconds=1)

    with db.count_requests() as c:
        assert await repos.users.get_session(token) == user
    assert c.count == 1

    assert await repos.users.revoke_session(token) is True
    assert await repos.users.get_session(token) is None
    assert await repos.users.revoke_session(token) is False  # already revoked


async def test_session_tokens_are_unique(repos: Any) -> None:
    user = await repos.users.create_user(make_user("leo"), PASSWORD)
    tokens = {await repos.users.create_session(user.id, timedelta(minutes=5)) for _ in range(5)}
    assert len(tokens) == 5
    for token in tokens:
        assert await repos.users.get_session(token) == user


async def test_expired_session_is_none(repos: Any) -> None:
    user = await repos.users.create_user(make_user("mia"), PASSWORD)
    token = await repos.users.create_session(user.id, timedelta(milliseconds=30))
    assert await repos.users.get_session(token) == user
    await asyncio.sleep(0.06)
    assert await repos.users.get_session(token) is None


async def test_session_of_deactivated_or_deleted_user(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("ned"), PASSWORD)
    token = await repos.users.create_session(user.id, timedelta(hours=1))
    await repos.users.update(user.id, {"is_active": False})
    assert await repos.users.get_session(token) is None
    with pytest.raises(ValidationError):
        await repos.users.create_session(user.id, timedelta(hours=1))
    await repos.users.update(user.id, {"is_active": True})
    assert await repos.users.get_session(token) == await repos.users.get(user.id)
    assert await repos.users.delete(user.id) is True
    assert await repos.users.get_session(token) is None
    assert await session_rows(db) == []  # REFERENCE ON DELETE CASCADE


async def test_unknown_tokens_and_users(repos: Any) -> None:
    assert await repos.users.get_session("no-such-token") is None
    assert await repos.users.revoke_session("no-such-token") is False
    assert await repos.users.revoke_all_sessions(uuid.uuid4()) == 0
    with pytest.raises(NotFoundError):
        await repos.users.create_session(uuid.uuid4(), timedelta(hours=1))


async def test_revoke_all_sessions(repos: Any) -> None:
    a = await repos.users.create_user(make_user("olga"), PASSWORD)
    b = await repos.users.create_user(make_user("pete"), PASSWORD)
    tokens_a = [await repos.users.create_session(a.id, timedelta(hours=1)) for _ in range(3)]
    token_b = await repos.users.create_session(b.id, timedelta(hours=1))
    await repos.users.revoke_session(tokens_a[0])
    assert await repos.users.revoke_all_sessions(a.id) == 2  # the already-revoked one is not counted
    assert [await repos.users.get_session(t) for t in tokens_a] == [None, None, None]
    assert await repos.users.get_session(token_b) == b
    assert await repos.users.revoke_all_sessions(a.id) == 0


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("create_session", (uuid.uuid4(), timedelta(0))),
        ("create_session", (uuid.uuid4(), timedelta(seconds=-1))),
        ("create_session", (uuid.uuid4(), 3600)),
        ("create_session", (uuid.uuid4(), timedelta(days=400))),
        ("create_session", ("nope", timedelta(hours=1))),
        ("get_session", ("",)),
        ("get_session", (None,)),
        ("get_session", ("t" * 600,)),
        ("revoke_session", ("",)),
        ("revoke_session", (b"token",)),
        ("revoke_all_sessions", ("nope",)),
    ],
)
async def test_session_bad_input_no_io(db: Any, repos: Any, method: str, args: tuple[Any, ...]) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await getattr(repos.users, method)(*args)
    assert c.count == 0


async def test_user_writes_inside_one_transaction(db: Any, repos: Any) -> None:
    """Every user write can be queued; statements queued after them still run (no early RETURN)."""
    user = make_user("tx")
    async with repos.transaction() as tx:
        created = await tx.users.create_user(user, PASSWORD)
        await tx.users.update_preferences(user.id, {"theme": "dark"})
        await tx.users.set_password(user.id, "rotated password")
        session = await tx.users.create_session(user.id, timedelta(hours=1))
        after = await tx.users.create_user(make_user("after-tx"), PASSWORD)
    assert created.result().username == "tx"
    assert after.result().username == "after-tx"
    token = session.result()
    stored = await repos.users.get_session(token)
    assert stored is not None
    assert stored.preferences == {"theme": "dark"}
    assert stored.version == 3
    assert await repos.users.authenticate("tx@example.com", "rotated password") == stored
    assert await repos.users.get_by_username("after-tx") is not None


async def test_session_and_password_writes_count_one_request(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("counted"), PASSWORD)
    token = await repos.users.create_session(user.id, timedelta(hours=1))
    with db.count_requests() as c:
        assert await repos.users.revoke_session(token) is True
    assert c.count == 1
    with db.count_requests() as c:
        assert await repos.users.revoke_all_sessions(user.id) == 0
    assert c.count == 1
    with db.count_requests() as c:
        await repos.users.set_password(user.id, "another one")
    assert c.count == 1


async def test_transaction_cut_short_by_return_is_an_error(db: Any) -> None:
    """Engine hazard that shaped these blocks: a RETURN inside BEGIN/COMMIT ends the transaction.

    The first statement commits and the third never runs; Database.run_transaction must say so
    instead of reporting success with a None result.
    """
    create = "CREATE user SET username = $n, email = $n + '@example.com'"
    with pytest.raises(TransactionError, match="ended early"):
        await db.run_transaction(
            [Statement(create, {"n": "first"}), Statement("{ RETURN 5 }"), Statement(create, {"n": "third"})]
        )
    rows = (await db.query("SELECT VALUE username FROM user ORDER BY username"))[0]
    assert rows == ["first"]


async def test_purge_sessions(db: Any, repos: Any) -> None:
    user = await repos.users.create_user(make_user("purge"), PASSWORD)
    live = await repos.users.create_session(user.id, timedelta(hours=1))
    revoked = await repos.users.create_session(user.id, timedelta(hours=1))
    await repos.users.create_session(user.id, timedelta(milliseconds=1))
    await repos.users.revoke_session(revoked)
    await asyncio.sleep(0.01)
    with db.count_requests() as c:
        assert await repos.users.purge_sessions() == 2
    assert c.count == 1
    assert await repos.users.get_session(live) == user
    assert len(await session_rows(db)) == 1
    assert await repos.users.purge_sessions() == 0


async def test_concurrent_preference_merges_all_land(repos: Any) -> None:
    user = await repos.users.create_user(make_user("merger"), PASSWORD)
    await asyncio.gather(*(repos.users.update_preferences(user.id, {"k": {f"n{i}": i}}) for i in range(10)))
    stored = await repos.users.get(user.id)
    assert stored.preferences == {"k": {f"n{i}": i for i in range(10)}}
    assert stored.version == 11


async def test_unknown_email_costs_a_password_comparison(repos: Any) -> None:
    """No user enumeration by timing: an unknown email still runs one argon2 comparison."""
    await repos.users.create_user(make_user("timed"), PASSWORD)

    async def best_of_3(email: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert await repos.users.authenticate(email, "wrong password") is None
            times.append(time.perf_counter() - start)
        return min(times)

    wrong_password = await best_of_3("timed@example.com")
    unknown_email = await best_of_3("nobody-here@example.com")
    # argon2 dominates both (tens of ms); without the dummy comparison the unknown email
    # would answer in well under a millisecond.
    assert unknown_email >= 0.3 * wrong_password
