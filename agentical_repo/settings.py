"""Connection settings, read from the environment with the ``AGENTICAL_DB_`` prefix.

One object describes where the data lives and how hard to try: the URL picks the
transport (``mem://``, ``surrealkv://`` embedded; ``ws(s)://``, ``http(s)://`` server),
the timeouts bound every wait so that no call can hang, and ``max_retries`` bounds
the retries of the few failures that are safe to retry.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .validation import IDENT_RE

__all__ = ["DEFAULT_URL", "SUPPORTED_SCHEMES", "DatabaseSettings"]

DEFAULT_URL = "surrealkv://.data/agentical"
SUPPORTED_SCHEMES = ("mem", "memory", "surrealkv", "file", "ws", "wss", "http", "https")


class DatabaseSettings(BaseSettings):
    """Where and how to connect. Every field can come from ``AGENTICAL_DB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="AGENTICAL_DB_", extra="ignore")

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

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        scheme, sep, _ = value.partition("://")
        if not sep or scheme.lower() not in SUPPORTED_SCHEMES:
            raise ValueError(f"url must start with one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}")
        return value

    @field_validator("namespace", "database")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not IDENT_RE.match(value):
            raise ValueError("must match ^[A-Za-z_][A-Za-z0-9_]*$")
        return value

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()

    @property
    def is_embedded(self) -> bool:
        return self.scheme in {"mem", "memory", "surrealkv", "file"}
