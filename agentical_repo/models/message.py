"""Conversation messages (full-text searchable)."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .base import Entity
from .enums import MessageRole

__all__ = ["Message", "SearchHit"]


class Message(Entity):
    """One message of a conversation. ``conversation_id`` is a plain UUID that
    groups messages (conversations are not a table); ``user_id``/``agent_id`` are
    record references to the author."""

    __table__: ClassVar[str] = "message"
    __references__: ClassVar[dict[str, str]] = {"user_id": "user", "agent_id": "agent"}
    __lock_field__: ClassVar[str | None] = "version"

    conversation_id: UUID
    role: MessageRole
    content: str = Field(max_length=1_000_000)
    user_id: UUID | None = None
    agent_id: UUID | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: Optional vector for semantic recall; its length must match the index (0017).
    embedding: list[float] | None = None
    version: int = Field(default=1, ge=1)


class SearchHit(BaseModel):
    """One search result: the message, its score, and ``content`` with matches marked.

    ``score`` is the engine's BM25 score on a system connection and the reciprocal
    rank (``1 / position``) on a connection signed in as an end user, whose BM25
    scores would depend on rows that user cannot see."""

    model_config = ConfigDict(frozen=True)

    message: Message
    score: float
    highlight: str
