"""Connection settings, read from the environment with the ``AGENTICAL_DB_`` prefix.

One object describes where the data lives and how hard to try: the URL picks the
transport (``mem://``, ``surrealkv://`` embedded; ``ws(s)://``, ``http(s)://`` server),
the timeouts bound every wait so that no call can hang, and ``max_retries`` bounds
the retries of the few failures that are safe to retry.

Credentials never appear in text: they are refused inside the URL (``username`` and
``password`` carry them), a refused value is never quoted back in a validation error,
and ``repr``/``str`` show the URL without any ``user:password@`` part.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_serializer, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_URL", "SUPPORTED_SCHEMES", "DatabaseSettings", "mask_url"]

DEFAULT_URL = "surrealkv://.data/agentical"
#: Namespace and database names: letters, digits, "_" and "-" (e.g. ``tenant-a``).
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}\Z")
NAME_RULE = "must be 1-128 letters, digits, '_' or '-' (not starting with '-')"
SUPPORTED_SCHEMES = ("mem", "memory", "surrealkv", "file", "ws", "wss", "http", "https")
#: embedded schemes whose URL names a directory on disk
FILE_SCHEMES = ("surrealkv", "file")


def mask_url(url: str) -> str:
    """``url`` without the ``user:password@`` part, safe to print or log."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}{sep}{authority}{slash}{tail}"


class DatabaseSettings(BaseSettings):
    """Where and how to connect. Every field can come from ``AGENTICAL_DB_<FIELD>``."""

    # hide_input_in_errors: a refused URL may hold a password; errors name the field only
    model_config = SettingsConfigDict(env_prefix="AGENTICAL_DB_", extra="ignore", hide_input_in_errors=True)

    url: str = Field(default=DEFAULT_URL, description="SurrealDB URL; the scheme picks the transport")
    namespace: str = Field(default="agentical", min_length=1, max_length=128)
    database: str = Field(default="main", min_length=1, max_length=128)
    username: str | None = None
    password: SecretStr | None = None
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    query_timeout: float = Field(default=30.0, gt=0, le=3600)
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_base_delay: float = Field(default=0.02, ge=0, le=10)
    retry_max_delay: float = Field(default=1.0, ge=0, le=60)
    span_level: Literal["trace", "debug", "info", "notice"] = Field(
        default="info",
        description="level of the per-operation spans (info: shown by a plain logfire.configure())",
    )
    require_schema: bool = Field(
        default=True,
        description="refuse statement writes until the schema is applied (False for raw use)",
    )
    pool_size: int = Field(
        default=1,
        ge=1,
        le=64,
        description="connections to a server URL, each request on the least busy (embedded URLs: 1)",
    )

    @model_validator(mode="after")
    def _check_pool(self) -> DatabaseSettings:
        # one handle owns an embedded store: a second would be another, empty mem://
        # database or a locked surrealkv:// store
        if self.pool_size > 1 and self.is_embedded:
            raise ValueError(
                "pool_size > 1 needs a server URL (ws://, wss://, http://, https://): "
                "an embedded engine (mem://, surrealkv://) is served by one connection"
            )
        return self

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in SUPPORTED_SCHEMES:
            raise ValueError(f"url must start with one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}")
        if "@" in rest.partition("/")[0]:
            raise ValueError(
                "url must not contain credentials (user:password@host): set username and password "
                "instead (AGENTICAL_DB_USERNAME / AGENTICAL_DB_PASSWORD)"
            )
        if scheme.lower() in FILE_SCHEMES and not rest.partition("?")[0].strip():
            raise ValueError(
                f"{scheme}:// needs the path of the store, e.g. {scheme}://.data/agentical "
                "(an empty path would put the store in the working directory)"
            )
        return value

    @field_validator("namespace", "database")
    @classmethod
    def _check_name(cls, value: str) -> str:
        # Sent as RPC parameters (never pasted into SurrealQL), so any name SurrealDB
        # accepts of letters, digits, "_" and "-" works: e.g. a namespace per tenant.
        if not NAME_RE.match(value):
            raise ValueError(NAME_RULE)
        return value

    @field_serializer("url", when_used="json")
    def _url_for_json(self, value: str) -> str:
        return mask_url(value)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "url" and isinstance(value, str) else value

    @property
    def safe_url(self) -> str:
        """The URL without credentials, for messages and logs."""
        return mask_url(self.url)

    @property
    def store_path(self) -> str | None:
        """The directory of a ``surrealkv://``/``file://`` store (None for other schemes)."""
        if self.scheme not in FILE_SCHEMES:
            return None
        return self.url.partition("://")[2].partition("?")[0]

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()

    @property
    def is_embedded(self) -> bool:
        return self.scheme in {"mem", "memory", "surrealkv", "file"}
