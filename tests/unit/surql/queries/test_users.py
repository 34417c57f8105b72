"""Golden text of ``surql.queries.users``: exact SurrealQL and vars, no I/O."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.errors import ThrowCode, decode_thrown
from agentical_repo.surql.queries import users

from ._golden import check

USER = RecordID("user", uuid.UUID("6f1c2b1e-0000-4000-8000-0000000005e7"))
FIELDS = "* OMIT password_hash, email_key"
NOT_FOUND = "THROW { agentical: 1, table: 'user' }"


def test_lookups_never_project_the_hash() -> None:
    check(
        users.by_email("Someone@Example.org"),
        f"SELECT {FIELDS} FROM user WHERE email_key = string::lowercase($email) LIMIT 1",
        {"email": "Someone@Example.org"},
        operation="SELECT",
        table="user",
    )
    check(
        users.by_username("secret-username"),
        f"SELECT {FIELDS} FROM user WHERE username = $username LIMIT 1",
        {"username": "secret-username"},
        operation="SELECT",
        table="user",
    )


def test_create_user_hashes_in_the_database_and_reads_back_without_the_hash() -> None:
    content = {"username": "secret-name", "email": "secret@example.org"}
    check(
        users.create_user(USER, content, "secret-password"),
        "{\n"
        "  CREATE ONLY $id CONTENT object::extend($content, "
        "{ password_hash: crypto::argon2::generate($password) }) RETURN NONE;\n"
        f"  SELECT {FIELDS} FROM ONLY $id\n"
        "}",
        {"id": USER, "content": content, "password": "secret-password"},
        operation="CREATE",
        table="user",
    )


def test_set_password_guards_existence_and_revokes_sessions_in_the_same_block() -> None:
    check(
        users.set_password(USER, "secret-password", revoke_sessions=True),
        "{\n"
        f"  IF !record::exists($id) {{ {NOT_FOUND} }};\n"
        "  UPDATE ONLY $id SET password_hash = crypto::argon2::generate($password), "
        "version += 1 RETURN NONE;\n"
        "  UPDATE user_session SET revoked_at = time::now() "
        "WHERE user = $id AND revoked_at = NONE RETURN NONE\n"
        "}",
        {"id": USER, "password": "secret-password"},
        operation="UPDATE",
        table="user",
    )


def test_set_password_can_keep_sessions() -> None:
    text = users.set_password(USER, "secret-password", revoke_sessions=False).text
    assert "user_session" not in text
    assert text.endswith("version += 1 RETURN NONE\n}")


def test_authenticate_always_compares_a_hash_and_never_returns_it() -> None:
    check(
        users.authenticate("secret@example.org", "secret-password", "$argon2id$dummy-hash"),
        "{\n"
        "  LET $_u = (SELECT id, is_active, password_hash FROM user "
        "WHERE email_key = string::lowercase($email) LIMIT 1)[0];\n"
        "  LET $_ok = crypto::argon2::compare($_u.password_hash ?? $dummy_hash, $password);\n"
        "  IF $_u = NONE OR $_u.password_hash = NONE OR $_u.is_active != true OR $_ok != true { NONE }\n"
        f"  ELSE {{ (SELECT {FIELDS} FROM ONLY $_u.id) }}\n"
        "}",
        {"email": "secret@example.org", "dummy_hash": "$argon2id$dummy-hash", "password": "secret-password"},
        operation="SELECT",
        table="user",
    )


def test_merge_preferences_is_load_current_plus_merge() -> None:
    prefs = {"theme": {"mode": "secret-mode"}}
    check(
        users.merge_preferences(USER, prefs),
        "{\n"
        "  LET $_cur = (SELECT version FROM ONLY $id);\n"
        f"  IF $_cur = NONE {{ {NOT_FOUND} }};\n"
        "  UPDATE ONLY $id MERGE { preferences: $prefs, version: $_cur.version + 1 } RETURN NONE;\n"
        f"  SELECT {FIELDS} FROM ONLY $id\n"
        "}",
        {"id": USER, "prefs": prefs},
        operation="UPDATE",
        table="user",
    )


def test_merge_preferences_with_expected_version_adds_the_version_guard() -> None:
    statement = users.merge_preferences(USER, {"lang": "secret-lang"}, expected_version=4242)
    assert (
        "  IF $_cur.version != $expected_version { THROW { agentical: 2, table: 'user' } };\n"
        "  UPDATE ONLY $id MERGE" in statement.text
    )
    assert statement.vars["expected_version"] == 4242


def test_create_session_refuses_missing_and_inactive_users_with_structured_throws() -> None:
    check(
        users.create_session(USER, "secret-token-hash", 3_600_000_000),
        "{\n"
        "  LET $_cur = (SELECT is_active FROM ONLY $user);\n"
        f"  IF $_cur = NONE {{ {NOT_FOUND} }};\n"
        "  IF $_cur.is_active != true { THROW { agentical: 7, reason: 'user_inactive' } };\n"
        "  CREATE user_session SET user = $user, token_hash = $token_hash, "
        "expires_at = time::now() + duration::from_micros($ttl_us) RETURN NONE\n"
        "}",
        {"user": USER, "token_hash": "secret-token-hash", "ttl_us": 3_600_000_000},
        operation="CREATE",
        table="user_session",
    )


def test_the_inactive_throw_decodes_to_the_reason_the_repository_maps() -> None:
    payload = decode_thrown("An error occurred: { agentical: 7, reason: 'user_inactive' }")
    assert payload == {"agentical": int(ThrowCode.INVALID), "reason": users.INACTIVE_REASON}


def test_live_session_user() -> None:
    check(
        users.live_session_user("secret-token-hash"),
        "{\n"
        "  LET $_s = (SELECT user FROM user_session WHERE token_hash = $token_hash "
        "AND revoked_at = NONE AND expires_at > time::now() LIMIT 1)[0];\n"
        "  IF $_s = NONE { NONE }\n"
        f"  ELSE {{ (SELECT {FIELDS} FROM $_s.user WHERE is_active = true)[0] }}\n"
        "}",
        {"token_hash": "secret-token-hash"},
        operation="SELECT",
        table="user",
    )


def test_session_revocation_and_purge() -> None:
    check(
        users.revoke_session("secret-token-hash"),
        "UPDATE user_session SET revoked_at = time::now() "
        "WHERE token_hash = $token_hash AND revoked_at = NONE RETURN VALUE id",
        {"token_hash": "secret-token-hash"},
        operation="UPDATE",
        table="user_session",
    )
    check(
        users.revoke_user_sessions(USER),
        "UPDATE user_session SET revoked_at = time::now() "
        "WHERE user = $user AND revoked_at = NONE AND expires_at > time::now() RETURN VALUE id",
        {"user": USER},
        operation="UPDATE",
        table="user_session",
    )
    check(
        users.purge_sessions(),
        "DELETE user_session WHERE expires_at <= time::now() OR revoked_at != NONE RETURN VALUE $before.id",
        {},
        operation="DELETE",
        table="user_session",
    )


def test_no_block_uses_a_return_statement() -> None:
    """A RETURN statement would end a surrounding BEGIN … COMMIT transaction early."""
    statements = [
        users.create_user(USER, {}, "pw-secret"),
        users.set_password(USER, "pw-secret", revoke_sessions=True),
        users.authenticate("e@x.org", "pw-secret", "dummy"),
        users.merge_preferences(USER, {"a": 1}, 1),
        users.create_session(USER, "hash", 1),
        users.live_session_user("hash"),
    ]
    for statement in statements:
        assert "RETURN " not in statement.text.replace("RETURN NONE", "").replace("RETURN VALUE", "")
