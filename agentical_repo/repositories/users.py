"""UserRepository: users, password authentication and sessions.

Secrets are handled so that they cannot leak through this package:

* the password travels only as a bound parameter into ``crypto::argon2::generate``
  / ``crypto::argon2::compare``; the hash is computed and checked *in the database*
  and is never selected back (``OMIT password_hash``), so neither the plaintext nor
  the hash reaches a model, a span (spans carry only the parameterised query
  text) or an error message (engine messages are redacted of bound values);
* a session token is random (``secrets.token_urlsafe(32)``) and returned to the
  caller once; the database stores only its SHA-256, so a leaked table does not
  leak live sessions. SHA-256 (not argon2) is right here: the token has 256 bits
  of entropy, so there is nothing to brute-force, and lookups stay indexable.

``authenticate`` compares against a fixed dummy hash when the email is unknown,
so a wrong email and a wrong password take the same time (no user enumeration
by timing).

No block here uses a ``RETURN`` statement: inside a ``BEGIN … COMMIT`` transaction
the engine treats ``RETURN`` as the end of the whole transaction (later queued
statements are silently skipped), so blocks end with their value instead.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from surrealdb import RecordID

from ..errors import NotFoundError, ValidationError
from ..models import User
from ..surql.statement import Params, Statement
from .base import BaseRepository, IdLike, as_uuid, require_text

__all__ = ["MAX_PASSWORD_LENGTH", "MAX_SESSION_TTL", "UserRepository"]

MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320
MAX_TOKEN_LENGTH = 512
MAX_SESSION_TTL = timedelta(days=366)
SESSION_TABLE = "user_session"

# argon2id hash of a random string nobody knows: compared against when the email is
# unknown so that the request costs the same as a wrong password.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$aBSTLf6B4ridMIcuSwFoLA$2WC5Pg7FjmZxWQLYCXZLQjjLpoTEngbDlTNlf46bVjE"
)
# What a user read projects: never the hash, never the derived index key.
_USER_FIELDS = "* OMIT password_hash, email_key"


def _check_email(email: Any) -> str:
    if not isinstance(email, str) or not email.strip() or len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            f"email must be a non-empty string of at most {MAX_EMAIL_LENGTH} characters",
            context={"argument": "email"},
        )
    return email


def _check_token(token: Any) -> str:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise ValidationError("token must be a non-empty string", context={"argument": "token"})
    return token


def _check_ttl(ttl: Any) -> int:
    """The TTL in whole microseconds (timedelta's own resolution)."""
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0) or ttl > MAX_SESSION_TTL:
        raise ValidationError(
            f"ttl must be a positive timedelta of at most {MAX_SESSION_TTL.days} days",
            context={"argument": "ttl"},
        )
    return ttl // timedelta(microseconds=1)


def token_hash(token: str) -> str:
    """What ``user_session.token_hash`` stores for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserRepository(BaseRepository[User]):
    """Repository of ``User``, with argon2 passwords and hashed session tokens."""

    model = User

    def _select(self, text: str, params: Params) -> Statement:
        return Statement(text, params.vars, operation="SELECT", table=self.table)

    # ------------------------------------------------------------------ lookups

    async def get_by_email(self, email: str) -> User | None:
        """The user with this email, ignoring case (indexed on the lower-cased key)."""
        params = Params()
        ref = params.add(_check_email(email), "email")
        text = f"SELECT {_USER_FIELDS} FROM {self.table} WHERE email_key = string::lowercase({ref}) LIMIT 1"
        return self._decode_optional(await self._read(self._select(text, params)))

    async def get_by_username(self, username: str) -> User | None:
        """The user with exactly this username (usernames are case-sensitive)."""
        if not isinstance(username, str) or not username or len(username) > 128:
            raise ValidationError(
                "username must be a non-empty string of at most 128 characters",
                context={"argument": "username"},
            )
        params = Params()
        text = (
            f"SELECT {_USER_FIELDS} FROM {self.table} "
            f"WHERE username = {params.add(username, 'username')} LIMIT 1"
        )
        return self._decode_optional(await self._read(self._select(text, params)))

    # ------------------------------------------------------------------ passwords

    async def create_user(self, user: User, password: str) -> User:
        """Store ``user`` with an argon2 hash of ``password`` computed by the database.

        One request. ``AlreadyExistsError`` when the username, the email (ignoring
        case) or the id is taken.
        """
        user = self._check_entity(user, "user")
        require_text(password, "password", MAX_PASSWORD_LENGTH)
        params = Params()
        rid = params.add(RecordID(self.table, user.id), "id")
        content = params.add(user.to_record(), "content")
        secret = params.add(password, "password")
        text = (
            "{\n"
            f"  CREATE ONLY {rid} CONTENT object::extend({content}, "
            f"{{ password_hash: crypto::argon2::generate({secret}) }}) RETURN NONE;\n"
            f"  SELECT {_USER_FIELDS} FROM ONLY {rid};\n"
            "}"
        )
        statement = Statement(text, params.vars, operation="CREATE", table=self.table)
        return await self._write(statement, self._decode)

    async def set_password(self, user_id: IdLike, password: str, *, revoke_sessions: bool = True) -> None:
        """Replace the user's password hash (in the database), by default revoking their sessions.

        One atomic request; ``NotFoundError`` if the user does not exist.
        """
        rid = self._rid(user_id, "user_id")
        require_text(password, "password", MAX_PASSWORD_LENGTH)
        params = Params()
        ref = params.add(rid, "id")
        revoke = (
            f"  UPDATE {SESSION_TABLE} SET revoked_at = time::now() "
            f"WHERE user = {ref} AND revoked_at = NONE RETURN NONE;\n"
            if revoke_sessions
            else ""
        )
        text = (
            "{\n"
            f"  IF (SELECT VALUE id FROM ONLY {ref}) = NONE {{ THROW {{ kind: 'not_found' }} }};\n"
            f"  UPDATE ONLY {ref} SET password_hash = crypto::argon2::generate("
            f"{params.add(password, 'password')}), version += 1 RETURN NONE;\n"
            f"{revoke}"
            "}"
        )
        statement = Statement(text, params.vars, operation="UPDATE", table=self.table)
        try:
            await self._write(statement, lambda _r: None)
        except NotFoundError:
            raise NotFoundError("user not found", context={"table": self.table, "id": str(rid.id)}) from None

    async def authenticate(self, email: str, password: str) -> User | None:
        """The active user with this email (any case) and password, else ``None``.

        One request; the comparison (``crypto::argon2::compare``) runs in the
        database. Unknown email, wrong password, inactive user and a user without
        a password all give ``None``, in about the same time.
        """
        _check_email(email)
        require_text(password, "password", MAX_PASSWORD_LENGTH)
        params = Params()
        email_ref = params.add(email, "email")
        secret = params.add(password, "password")
        dummy = params.add(_DUMMY_HASH, "dummy_hash")
        text = (
            "{\n"
            f"  LET $u = (SELECT id, is_active, password_hash FROM {self.table} "
            f"WHERE email_key = string::lowercase({email_ref}) LIMIT 1)[0];\n"
            f"  LET $ok = crypto::argon2::compare($u.password_hash ?? {dummy}, {secret});\n"
            "  IF $u = NONE OR $u.password_hash = NONE OR $u.is_active != true OR $ok != true { NONE }\n"
            f"  ELSE {{ (SELECT {_USER_FIELDS} FROM ONLY $u.id) }};\n"
            "}"
        )
        return self._decode_optional(await self._read(self._select(text, params)))

    # ------------------------------------------------------------------ preferences

    async def update_preferences(
        self, user_id: IdLike, prefs: Mapping[str, Any], *, expected_version: int | None = None
    ) -> User:
        """Deep-merge ``prefs`` into the user's preferences and bump ``version`` (one request).

        Nested dicts merge key by key; other values replace. A ``None`` value is
        stored as null (the key is kept). ``NotFoundError`` for an unknown user,
        ``ConflictError`` when ``expected_version`` is stale.
        """
        rid = self._rid(user_id, "user_id")
        if not isinstance(prefs, Mapping) or not prefs:
            raise ValidationError("prefs must be a non-empty dict", context={"argument": "prefs"})
        try:
            encoded = User.coerce_updates({"preferences": prefs})["preferences"]
        except ValueError:
            raise ValidationError(
                "prefs must be a dict with string keys and JSON-like values", context={"argument": "prefs"}
            ) from None
        params = Params()
        guard = self._version_guard(params, expected_version)
        ref = params.add(rid, "id")
        text = (
            "{\n"
            f"  LET $cur = (SELECT version FROM ONLY {ref});\n"
            "  IF $cur = NONE { THROW { kind: 'not_found' } };\n"
            f"{guard}"
            f"  UPDATE ONLY {ref} MERGE {{ preferences: {params.add(encoded, 'prefs')}, "
            "version: $cur.version + 1 } RETURN NONE;\n"
            f"  SELECT {_USER_FIELDS} FROM ONLY {ref};\n"
            "}"
        )
        statement = Statement(text, params.vars, operation="UPDATE", table=self.table)
        return await self._versioned_write(as_uuid(rid), statement, self._decode, expected_version)

    # ------------------------------------------------------------------ sessions

    async def create_session(self, user_id: IdLike, ttl: timedelta) -> str:
        """Open a session for an active user; return its token (shown only this once).

        Only the token's SHA-256 is stored; ``expires_at`` is the database's now
        plus ``ttl``. ``NotFoundError`` for an unknown user, ``ValidationError``
        for an inactive one (checked in the same request).
        """
        rid = self._rid(user_id, "user_id")
        micros = _check_ttl(ttl)
        token = secrets.token_urlsafe(32)
        params = Params()
        ref = params.add(rid, "user")
        text = (
            "{\n"
            f"  LET $u = (SELECT is_active FROM ONLY {ref});\n"
            "  IF $u = NONE { THROW { kind: 'not_found' } };\n"
            "  IF $u.is_active != true { THROW { kind: 'invalid', reason: 'user is inactive' } };\n"
            f"  CREATE {SESSION_TABLE} SET user = {ref}, "
            f"token_hash = {params.add(token_hash(token), 'token_hash')}, "
            f"expires_at = time::now() + duration::from_micros({params.add(micros, 'ttl_us')}) RETURN NONE;\n"
            "}"
        )
        statement = Statement(text, params.vars, operation="CREATE", table=SESSION_TABLE)
        try:
            return await self._write(statement, lambda _r: token)
        except NotFoundError:
            raise NotFoundError("user not found", context={"table": self.table, "id": str(rid.id)}) from None
        except ValidationError as exc:
            if exc.code != "invalid":
                raise
            raise ValidationError(
                "cannot open a session for an inactive user", code="invalid", context={"argument": "user_id"}
            ) from None

    async def get_session(self, token: str) -> User | None:
        """The active user of a live session (not expired, not revoked), else ``None``. One request."""
        params = Params()
        hashed = params.add(token_hash(_check_token(token)), "token_hash")
        text = (
            "{\n"
            f"  LET $s = (SELECT user FROM {SESSION_TABLE} WHERE token_hash = {hashed} "
            "AND revoked_at = NONE AND expires_at > time::now() LIMIT 1)[0];\n"
            "  IF $s = NONE { NONE }\n"
            f"  ELSE {{ (SELECT {_USER_FIELDS} FROM $s.user WHERE is_active = true)[0] }};\n"
            "}"
        )
        return self._decode_optional(await self._read(self._select(text, params)))

    async def revoke_session(self, token: str) -> bool:
        """Revoke one session; True if a not-yet-revoked session had this token."""
        params = Params()
        hashed = params.add(token_hash(_check_token(token)), "token_hash")
        text = (
            f"UPDATE {SESSION_TABLE} SET revoked_at = time::now() "
            f"WHERE token_hash = {hashed} AND revoked_at = NONE RETURN VALUE id"
        )
        statement = Statement(text, params.vars, operation="UPDATE", table=SESSION_TABLE)
        return await self._write(statement, lambda rows: bool(rows))

    async def revoke_all_sessions(self, user_id: IdLike) -> int:
        """Revoke every live session of a user; returns how many were revoked (0 for an unknown user)."""
        rid = RecordID(self.table, as_uuid(user_id, "user_id"))
        params = Params()
        text = (
            f"UPDATE {SESSION_TABLE} SET revoked_at = time::now() "
            f"WHERE user = {params.add(rid, 'user')} AND revoked_at = NONE AND expires_at > time::now() "
            "RETURN VALUE id"
        )
        statement = Statement(text, params.vars, operation="UPDATE", table=SESSION_TABLE)
        return await self._write(statement, lambda rows: len(rows or []))

    async def purge_sessions(self) -> int:
        """Delete expired and revoked sessions (housekeeping); returns how many were deleted."""
        text = (
            f"DELETE {SESSION_TABLE} WHERE expires_at <= time::now() OR revoked_at != NONE "
            "RETURN VALUE $before.id"
        )
        statement = Statement(text, {}, operation="DELETE", table=SESSION_TABLE)
        return await self._write(statement, lambda rows: len(rows or []))
