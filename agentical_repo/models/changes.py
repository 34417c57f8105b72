"""Change-feed events (``BaseRepository.changes`` / ``watch``) and a page of them."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from .base import Entity

__all__ = ["ChangeBatch", "ChangeEvent", "ChangeKind"]

M = TypeVar("M", bound=Entity)

#: What happened to the record.
ChangeKind = Literal["create", "update", "delete"]


class ChangeEvent(BaseModel, Generic[M]):
    """One committed change of one record, in commit order.

    ``record`` is the record after a create or update and the deleted record for a
    delete (the feed keeps the original). ``versionstamp`` is the engine's commit
    stamp (one per transaction, increasing); ``index`` the change's position inside
    that transaction. ``cursor`` resumes right after this event: persist it once the
    event is handled and pass it as ``since`` after a restart.
    """

    model_config = ConfigDict(frozen=True)

    kind: ChangeKind
    table: str
    id: UUID
    record: M | None
    versionstamp: int
    index: int
    cursor: str


class ChangeBatch(BaseModel, Generic[M]):
    """The events of one ``changes`` call and the cursor that continues after them.

    ``cursor`` moves on even when ``events`` is empty (the read covered the feed up
    to the delivery watermark), so an idle reader's cursor never ages out of the
    feed's retention.
    """

    model_config = ConfigDict(frozen=True)

    events: list[ChangeEvent[M]]
    cursor: str
