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

The statements are in ``surql.queries.users``; this module validates arguments
(before any I/O), decodes rows and maps the blocks' structured throws (read from
``exc.context``) to errors that name the user.
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
from ..surql.queries import users as q
from ..validation import as_uuid, fail, require_text
from .base import BaseRepository, IdLike

__all__ = ["MAX_PASSWORD_LENGTH", "MAX_SESSION_TTL", "UserRepository"]

MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320
MAX_TOKEN_LENGTH = 512
MAX_SESSION_TTL = timedelta(days=366)
SESSION_TABLE = q.SESSION_TABLE

# argon2id hash of a random string nobody knows: compared against when the email is
# unknown so that the request costs the same as a wrong password.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$aBSTLf6B4ridMIcuSwFoLA$2WC5Pg7FjmZxWQLYCXZLQjjLpoTEngbDlTNlf46bVjE"
)


def _check_email(email: Any) -> str:
    if not isinstance(email, str) or not email.strip() or len(email) > MAX_EMAIL_LENGTH:
        raise fail("email", f"must be a non-empty string of at most {MAX_EMAIL_LENGTH} characters")
    return email


def _check_token(token: Any) -> str:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise fail("token", "must be a non-empty string")
    return token


def _check_ttl(ttl: Any) -> int:
    """The TTL in whole microseconds (timedelta's own resolution)."""
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0) or ttl > MAX_SESSION_TTL:
        raise fail("ttl", f"must be a positive timedelta of at most {MAX_SESSION_TTL.days} days")
    return ttl // timedelta(microseconds=1)


def _check_expected_version(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail("expected_version", "must be an int")
    return value


def token_hash(token: str) -> str:
    """What ``user_session.token_hash`` stores for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user_missing(exc: NotFoundError) -> bool:
    """True when a block's NOT_FOUND throw named the user table."""
    return exc.context.get("thrown") == "not_found" and exc.context.get("table") == q.TABLE


class UserRepository(BaseRepository[User]):
    """Repository of ``User``, with argon2 passwords and hashed session tokens."""

    model = User

    def _user_not_found(self, rid: RecordID) -> NotFoundError:
        return NotFoundError("user not found", context={"table": self.table, "id": str(rid.id)})

    # ------------------------------------------------------------------ lookups

    async def get_by_email(self, email: str) -> User | None:
        """The user with this email, ignoring case (indexed on the lower-cased key)."""
        return self._decode_optional(await self._read(q.by_email(_check_email(email))))

    async def get_by_username(self, username: str) -> User | None:
        """The user with exactly this username (usernames are case-sensitive)."""
        require_text(username, "username", 128)
        return self._decode_optional(await self._read(q.by_username(username)))

    # ------------------------------------------------------------------ passwords

    async def create_user(self, user: User, password: str) -> User:
        """Store ``user`` with an argon2 hash of ``password`` computed by the database.

        One request. ``AlreadyExistsError`` when the username, the email (ignoring
        case) or the id is taken.
        """
        user = self._check_entity(user, "user")
        require_text(password, "password", MAX_PASSWORD_LENGTH)
        statement = q.create_user(RecordID(self.table, user.id), user.to_record(), password)
        return await self._write(statement, self._decode)

    async def set_password(self, user_id: IdLike, password: str, *, revoke_sessions: bool = True) -> None:
        """Replace the user's password hash (in the database), by default revoking their sessions.

        One atomic request; ``NotFoundError`` if the user does not exist.
        """
        rid = self._rid(user_id, "user_id")
        require_text(password, "password", MAX_PASSWORD_LENGTH)
        statement = q.set_password(rid, password, revoke_sessions=bool(revoke_sessions))
        try:
            await self._write(statement, lambda _r: None)
        except NotFoundError as exc:
            if not _user_missing(exc):
                raise
            raise self._user_not_found(rid) from None

    async def authenticate(self, email: str, password: str) -> User | None:
        """The active user with this email (any case) and password, else ``None``.

        One request; the comparison (``crypto::argon2::compare``) runs in the
        database. Unknown email, wrong password, inactive user and a user without
        a password all give ``None``, in about the same time.
        """
        _check_email(email)
        require_text(password, "password", MAX_PASSWORD_LENGTH)
        return self._decode_optional(await self._read(q.authenticate(email, password, _DUMMY_HASH)))

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
            raise fail("prefs", "must be a non-empty dict")
        try:
            encoded = User.coerce_updates({"preferences": prefs})["preferences"]
        except ValueError:
            raise fail("prefs", "must be a dict with string keys and JSON-like values") from None
        expected = _check_expected_version(expected_version)
        statement = q.merge_preferences(rid, encoded, expected)
        return await self._versioned_write(as_uuid(rid), statement, self._decode, expected)

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
        statement = q.create_session(rid, token_hash(token), micros)
        try:
            return await self._write(statement, lambda _r: token)
        except NotFoundError as exc:
            if not _user_missing(exc):
                raise
            raise self._user_not_found(rid) from None
        except ValidationError as exc:
            if exc.context.get("reason") != q.INACTIVE_REASON:
                raise
            raise ValidationError(
                "cannot open a session for an inactive user", code="invalid", context={"argument": "user_id"}
            ) from None

    async def get_session(self, token: str) -> User | None:
        """The active user of a live session (not expired, not revoked), else ``None``. One request."""
        statement = q.live_session_user(token_hash(_check_token(token)))
        return self._decode_optional(await self._read(statement))

    async def revoke_session(self, token: str) -> bool:
        """Revoke one session; True if a not-yet-revoked session had this token."""
        statement = q.revoke_session(token_hash(_check_token(token)))
        return await self._write(statement, lambda rows: bool(rows))

    async def revoke_all_sessions(self, user_id: IdLike) -> int:
        """Revoke every live session of a user; returns how many were revoked (0 for an unknown user)."""
        statement = q.revoke_user_sessions(self._rid(user_id, "user_id"))
        return await self._write(statement, lambda rows: len(rows or []))

    async def purge_sessions(self) -> int:
        """Delete expired and revoked sessions (housekeeping); returns how many were deleted."""
        return await self._write(q.purge_sessions(), lambda rows: len(rows or []))
