"""Record-access sign-in: the request that signs a connection in as one end user.

Sign-in is not a SurrealQL statement but the ``signin`` RPC of the connection;
what it carries is fixed by ``DEFINE ACCESS user_access … SIGNIN (…)`` in
``schema/0007_end_user_access.surql`` (which replaces the definition of
``0005_access``), whose SIGNIN reads ``$email`` and ``$password``. This module is
the one place that names those variables, next to the other statements that must
agree with the schema. The values travel as sign-in variables (bound by the
engine), never as text.

``SESSION_ENDED`` is what that access definition's AUTHENTICATE throws when a
token outlived its user: deactivated, deleted, or their password changed since
the token was issued.
"""

from __future__ import annotations

from typing import Any

from ..idents import identifier
from ..statement import Statement, sql

__all__ = ["DEFAULT_ACCESS", "SESSION_ENDED", "current_auth", "signin_request"]

#: The record access method of ``schema/0007_end_user_access.surql``.
DEFAULT_ACCESS = "user_access"
#: The text AUTHENTICATE throws for a token issued before its user's credentials changed.
SESSION_ENDED = "session_ended"


def signin_request(
    namespace: str, database: str, email: str, password: str, *, access: str = DEFAULT_ACCESS
) -> dict[str, Any]:
    """The ``signin`` parameters for record access ``access`` with these credentials.

    ``access`` must be an identifier (``ValidationError`` otherwise): it names a
    ``DEFINE ACCESS`` of the database.
    """
    return {
        "namespace": namespace,
        "database": database,
        "access": identifier(access, what="access"),
        "variables": {"email": email, "password": password},
    }


def current_auth() -> Statement:
    """The record the connection is signed in as (``$auth``; ``NONE`` for a system user)."""
    return Statement(sql("RETURN $auth"), operation="SELECT", table="user")
