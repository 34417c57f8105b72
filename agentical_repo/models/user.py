"""Users. The password hash lives only in the database (argon2 via
``crypto::argon2``) and never in this model, so it cannot leak through it."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field

from .base import Entity

__all__ = ["Email", "User"]

# Deliberately simple: one @, no whitespace, a dot in the domain. Real validation
# of an address is sending mail to it; this only catches obvious mistakes.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _check_email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise ValueError("not an email address")
    return value


#: An email-looking string (uniqueness is case-insensitive in the database).
Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_check_email)]


class User(Entity):
    """A user. ``username`` is unique; ``email`` is unique ignoring case (the
    schema indexes a lower-cased ``email_key``, which this model does not carry)."""

    __table__: ClassVar[str] = "user"
    __references__: ClassVar[dict[str, str]] = {}
    __lock_field__: ClassVar[str | None] = "version"

    username: str = Field(min_length=1, max_length=128)
    email: Email
    display_name: str | None = Field(default=None, max_length=256)
    preferences: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    version: int = Field(default=1, ge=1)
