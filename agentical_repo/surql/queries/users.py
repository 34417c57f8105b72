"""User statements: lookups, argon2 passwords, preferences and sessions.

Pure functions: record ids and values in, ``Statement`` out. Secrets stay in
the database: a password is only ever a bound ``Var`` handed to
``crypto::argon2::generate`` / ``crypto::argon2::compare``, and every read of a
user projects ``USER_FIELDS`` (never the hash, never the derived index key).

No block here uses a ``RETURN`` statement: inside a ``BEGIN … COMMIT``
transaction the engine treats ``RETURN`` as the end of the whole transaction
(later queued statements are silently skipped), so blocks end with their value.
A failed precondition aborts with a structured THROW: ``NOT_FOUND`` naming
``user``, or ``INVALID`` with ``reason: 'user_inactive'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from surrealdb import RecordID

from ...errors import ThrowCode
from .. import blocks
from ..statement import Sql, Statement, Var, sql

__all__ = [
    "INACTIVE_REASON",
    "LOCK_FIELD",
    "SESSION_TABLE",
    "TABLE",
    "USER_FIELDS",
    "authenticate",
    "by_email",
    "by_username",
    "create_session",
    "create_user",
    "live_session_user",
    "merge_preferences",
    "purge_sessions",
    "revoke_session",
    "revoke_user_sessions",
    "set_password",
]

TABLE = "user"
SESSION_TABLE = "user_session"
#: The user's optimistic-lock field (``User.__lock_field__``).
LOCK_FIELD = "version"
#: The ``reason`` of the INVALID throw when a session is asked for an inactive user.
INACTIVE_REASON = "user_inactive"

#: What a user read projects: never the hash, never the derived index key.
USER_FIELDS = Sql(("* OMIT password_hash, email_key",))


def _user_select(ref: Var) -> Sql:
    return sql("SELECT {fields} FROM ONLY {ref}", fields=USER_FIELDS, ref=ref)


def by_email(email: str) -> Statement:
    """The user whose email matches ignoring case (index on the lower-cased ``email_key``)."""
    text = sql(
        "SELECT {fields} FROM user WHERE email_key = string::lowercase({email}) LIMIT 1",
        fields=USER_FIELDS,
        email=Var(email, "email"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def by_username(username: str) -> Statement:
    """The user with exactly this username (usernames are case-sensitive)."""
    text = sql(
        "SELECT {fields} FROM user WHERE username = {username} LIMIT 1",
        fields=USER_FIELDS,
        username=Var(username, "username"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def create_user(user: RecordID, content: Mapping[str, Any], password: str) -> Statement:
    """Create the user with the argon2 hash of ``password`` computed in the database.

    The hash is added to the content inside the engine and the created record
    is read back through ``USER_FIELDS``, so the hash never leaves it.
    """
    ref = Var(user, "id")
    create = sql(
        "CREATE ONLY {ref} CONTENT object::extend({content}, "
        "{ password_hash: crypto::argon2::generate({password}) }) RETURN NONE",
        ref=ref,
        content=Var(dict(content), "content"),
        password=Var(password, "password"),
    )
    return Statement(blocks.block([create, _user_select(ref)]), operation="CREATE", table=TABLE)


def set_password(user: RecordID, password: str, *, revoke_sessions: bool) -> Statement:
    """Replace the password hash (bumping ``version``), optionally revoking live sessions.

    One block, so the new hash and the revocation commit together; ``NOT_FOUND``
    when the user does not exist (an UPDATE of a missing record writes nothing).
    """
    ref = Var(user, "id")
    lines = [
        blocks.require_record(ref, TABLE),
        sql(
            "UPDATE ONLY {ref} SET password_hash = crypto::argon2::generate({password}), "
            "version += 1 RETURN NONE",
            ref=ref,
            password=Var(password, "password"),
        ),
    ]
    if revoke_sessions:
        lines.append(
            sql(
                "UPDATE user_session SET revoked_at = time::now() "
                "WHERE user = {ref} AND revoked_at = NONE RETURN NONE",
                ref=ref,
            )
        )
    return Statement(blocks.block(lines), operation="UPDATE", table=TABLE)


def authenticate(email: str, password: str, dummy_hash: str) -> Statement:
    """The active user with this email and password, else ``NONE``; compared in the database.

    When the email is unknown (or the user has no password) the password is
    compared against ``dummy_hash``, so every miss costs one argon2 comparison
    and a wrong email cannot be told from a wrong password by timing.
    """
    lines = [
        sql(
            "LET $_u = (SELECT id, is_active, password_hash FROM user "
            "WHERE email_key = string::lowercase({email}) LIMIT 1)[0]",
            email=Var(email, "email"),
        ),
        sql(
            "LET $_ok = crypto::argon2::compare($_u.password_hash ?? {dummy}, {password})",
            dummy=Var(dummy_hash, "dummy_hash"),
            password=Var(password, "password"),
        ),
        sql(
            "IF $_u = NONE OR $_u.password_hash = NONE OR $_u.is_active != true OR $_ok != true { NONE }\n"
            "  ELSE { (SELECT {fields} FROM ONLY $_u.id) }",
            fields=USER_FIELDS,
        ),
    ]
    return Statement(blocks.block(lines), operation="SELECT", table=TABLE)


def merge_preferences(
    user: RecordID, prefs: Mapping[str, Any], expected_version: int | None = None
) -> Statement:
    """Deep-merge ``prefs`` into the user's ``preferences`` and bump ``version``; the user after.

    ``MERGE`` merges nested objects key by key and replaces any other value. A
    MERGE cannot be combined with SET, so the block is ``load_current``
    (NOT_FOUND) + the optional ``version_guard`` (STALE_VERSION) + the MERGE,
    the version bumped from the value read in the same engine transaction.
    """
    ref = Var(user, "id")
    lines = [blocks.load_current(ref, TABLE, (LOCK_FIELD,))]
    if expected_version is not None:
        lines.append(blocks.version_guard(TABLE, LOCK_FIELD, Var(expected_version, "expected_version")))
    lines.append(
        sql(
            "UPDATE ONLY {ref} MERGE { preferences: {prefs}, version: $_cur.version + 1 } RETURN NONE",
            ref=ref,
            prefs=Var(dict(prefs), "prefs"),
        )
    )
    lines.append(_user_select(ref))
    return Statement(blocks.block(lines), operation="UPDATE", table=TABLE)


def create_session(user: RecordID, token_hash: str, ttl_micros: int) -> Statement:
    """Open a session of an active user: store the token's hash, expiring at now + ttl.

    ``NOT_FOUND`` (table ``user``) for a missing user, ``INVALID`` with reason
    ``INACTIVE_REASON`` for an inactive one; both checked in the same block.
    """
    ref = Var(user, "user")
    lines = [
        blocks.load_current(ref, TABLE, ("is_active",)),
        sql(
            "IF $_cur.is_active != true { {t} }",
            t=blocks.throw(ThrowCode.INVALID, reason=INACTIVE_REASON),
        ),
        sql(
            "CREATE user_session SET user = {ref}, token_hash = {hash}, "
            "expires_at = time::now() + duration::from_micros({ttl}) RETURN NONE",
            ref=ref,
            hash=Var(token_hash, "token_hash"),
            ttl=Var(ttl_micros, "ttl_us"),
        ),
    ]
    return Statement(blocks.block(lines), operation="CREATE", table=SESSION_TABLE)


def live_session_user(token_hash: str) -> Statement:
    """The active user of the live (not revoked, not expired) session with this hash, else ``NONE``."""
    lines = [
        sql(
            "LET $_s = (SELECT user FROM user_session WHERE token_hash = {hash} "
            "AND revoked_at = NONE AND expires_at > time::now() LIMIT 1)[0]",
            hash=Var(token_hash, "token_hash"),
        ),
        sql(
            "IF $_s = NONE { NONE }\n  ELSE { (SELECT {fields} FROM $_s.user WHERE is_active = true)[0] }",
            fields=USER_FIELDS,
        ),
    ]
    return Statement(blocks.block(lines), operation="SELECT", table=TABLE)


def revoke_session(token_hash: str) -> Statement:
    """Revoke the not-yet-revoked session with this hash; the ids of the sessions revoked."""
    text = sql(
        "UPDATE user_session SET revoked_at = time::now() "
        "WHERE token_hash = {hash} AND revoked_at = NONE RETURN VALUE id",
        hash=Var(token_hash, "token_hash"),
    )
    return Statement(text, operation="UPDATE", table=SESSION_TABLE)


def revoke_user_sessions(user: RecordID) -> Statement:
    """Revoke every live session of the user; the ids of the sessions revoked."""
    text = sql(
        "UPDATE user_session SET revoked_at = time::now() "
        "WHERE user = {ref} AND revoked_at = NONE AND expires_at > time::now() RETURN VALUE id",
        ref=Var(user, "user"),
    )
    return Statement(text, operation="UPDATE", table=SESSION_TABLE)


def purge_sessions() -> Statement:
    """Delete expired and revoked sessions; the ids of the sessions deleted."""
    text = sql(
        "DELETE user_session WHERE expires_at <= time::now() OR revoked_at != NONE RETURN VALUE $before.id"
    )
    return Statement(text, operation="DELETE", table=SESSION_TABLE)
