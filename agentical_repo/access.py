"""End-user (record access) sign-in: a connection the database itself confines to one user.

``schema/0007_end_user_access.surql`` defines ``DEFINE ACCESS user_access ON DATABASE
TYPE RECORD`` (argon2 password check against ``user.password_hash``) and the table
and field ``PERMISSIONS`` on ``user``, ``user_session`` and ``message``. A
``Database`` whose connection has been signed in with :func:`signin_user` is
``$auth`` = that user: the engine returns only their own user record, sessions and
messages, lets them write only the fields that schema lists, and ignores writes to
anyone else's. The application's own connection (system user) is not restricted
by table permissions.

A token names the credential generation it was issued for: once the user is
deactivated, deleted or has their password changed, the database refuses it on
every authenticate (and an open connection loses access), so it cannot outlive
the application's decision.

Reconnects fail closed: the access token (never the password) is kept and
re-presented on every new connection; if it is refused (expired, the user's
sign-in ended, a fresh ``mem://`` engine) the reconnect fails instead of silently
coming back with the settings' system credentials or, on an embedded engine, full
anonymous access.

``Database.end_user`` is set to the signed-in record, so what depends on who is
asking (the read cache, search scores) can tell an end-user connection apart.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from surrealdb import RecordID

from .errors import AccessDeniedError, AgenticalError, DatabaseUnavailableError, ValidationError
from .surql.idents import is_identifier
from .surql.queries.access import DEFAULT_ACCESS, SESSION_ENDED, current_auth, signin_request
from .validation import require_text

if TYPE_CHECKING:
    from .database import Database

__all__ = ["DEFAULT_ACCESS", "AccessDeniedError", "signin_user"]


async def signin_user(db: Database, email: str, password: str, *, access: str = DEFAULT_ACCESS) -> str:
    """Sign ``db``'s connection in as the user with ``email``/``password``; return the access token.

    From then on every request on ``db`` runs as that user under the table
    permissions. ``AccessDeniedError`` when the credentials are refused;
    ``ValidationError`` (before any I/O) for arguments of the wrong shape. The
    password is sent once, as a bound sign-in variable, and is not kept.
    """
    require_text(email, "email", 320)
    require_text(password, "password", 1024)
    if not is_identifier(access):
        raise ValidationError("access must be an identifier", context={"argument": "access"})
    await db.connect()
    params = signin_request(db.namespace, db.database, email, password, access=access)
    try:
        tokens = await asyncio.wait_for(db.client.signin(params), db.settings.connect_timeout)
    except TimeoutError:
        raise DatabaseUnavailableError("sign-in got no answer within connect_timeout") from None
    except AgenticalError:
        raise
    except Exception as exc:
        raise AccessDeniedError(
            "sign-in refused: wrong email or password, or the user is inactive",
            context={"access": access, "cause": type(exc).__name__},
        ) from None
    token = tokens.access if hasattr(tokens, "access") else tokens
    if not isinstance(token, str):
        raise AccessDeniedError("sign-in returned no access token", context={"access": access})

    async def restore(client: Any) -> None:
        try:
            await client.authenticate(token)
        except Exception as exc:
            if SESSION_ENDED in str(exc):
                raise AccessDeniedError(
                    "the user's sign-in has ended (deactivated, deleted or password changed); sign in again",
                    code="session_ended",
                    context={"access": access},
                ) from None
            raise AccessDeniedError(
                "the user session could not be restored on a new connection; sign in again",
                context={"access": access},
            ) from None

    # replace any earlier end-user session of this Database; mark it as an end user's
    # before anything else can run on it (the cache and search check the mark)
    db.end_user = _PENDING
    db.open_hooks[:] = [h for h in db.open_hooks if not getattr(h, "_agentical_user_session", False)]
    restore._agentical_user_session = True  # type: ignore[attr-defined]
    db.open_hooks.append(restore)
    auth = await db.execute(current_auth())
    if isinstance(auth, RecordID):
        db.end_user = auth
    return token


#: ``Database.end_user`` while the record is not known yet (or for an access method
#: whose ``$auth`` is not a record): still an end user, never the system.
_PENDING = RecordID("user", "signed_in")
