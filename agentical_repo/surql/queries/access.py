"""Record-access sign-in: the request that signs a connection in as one end user.

Sign-in is not a SurrealQL statement but the ``signin`` RPC of the connection;
what it carries is fixed by ``DEFINE ACCESS user_access … SIGNIN (…)`` in
``schema/0005_access.surql``, whose SIGNIN query reads ``$email`` and
``$password``. This module is the one place that names those variables, next to
the other statements that must agree with the schema. The values travel as
sign-in variables (bound by the engine), never as text.
"""

from __future__ import annotations

from typing import Any

from ..idents import identifier

__all__ = ["DEFAULT_ACCESS", "signin_request"]

#: The record access method of ``schema/0005_access.surql``.
DEFAULT_ACCESS = "user_access"


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
