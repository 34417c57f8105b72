"""Create and update input schemas: what a request body may set, per entity.

An API that accepts ``Agent`` itself as a request body lets the client choose
``version``, ``created_at`` and ``updated_at``: fields the database owns. The
input models here are derived from the entity models, so they follow every field
and constraint the entity has, minus what a client must never send:

* ``XCreate`` — the entity's fields without the database-owned ones; ``id`` is
  optional (give one to make the create idempotent). ``to_entity()`` builds the
  model to pass to ``repo.create``.
* ``XUpdate`` — every client-writable field optional, no ``id``; ``to_updates()``
  returns only the fields the client actually sent, ready for ``repo.update``.

Owned fields are the timestamps, the optimistic-lock counter (the caller sends
``expected_version`` instead) and any field the model lists in
``__input_excluded__`` (e.g. counters maintained by repository methods).
Application entities get the same pair from :func:`create_input` /
:func:`update_input`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model

from .agent import Agent
from .base import Entity
from .message import Message
from .playbook import Playbook
from .task import Task
from .tool import Tool
from .user import User
from .workflow import Workflow

__all__ = [
    "AgentCreate",
    "AgentUpdate",
    "CreateInput",
    "MessageCreate",
    "MessageUpdate",
    "PlaybookCreate",
    "PlaybookUpdate",
    "TaskCreate",
    "TaskUpdate",
    "ToolCreate",
    "ToolUpdate",
    "UpdateInput",
    "UserCreate",
    "UserUpdate",
    "WorkflowCreate",
    "WorkflowUpdate",
    "create_input",
    "owned_fields",
    "update_input",
]

E = TypeVar("E", bound=Entity)

#: Fields the database (or a dedicated repository method) maintains, per built-in entity.
_EXCLUDED: dict[type[Entity], frozenset[str]] = {
    Tool: frozenset({"usage_count", "last_used_at"}),  # track_usage keeps them
    Playbook: frozenset({"version"}),  # create_version numbers versions
}


def owned_fields(model: type[Entity]) -> frozenset[str]:
    """Fields of ``model`` that no request body may set."""
    owned = {"created_at", "updated_at"}
    if model.__lock_field__ is not None:
        owned.add(model.__lock_field__)
    owned |= _EXCLUDED.get(model, frozenset())
    owned |= getattr(model, "__input_excluded__", frozenset())
    return frozenset(owned)


class CreateInput(BaseModel, Generic[E]):
    """Base of every ``XCreate`` schema; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    __entity__: ClassVar[type[Entity]]

    def to_entity(self) -> E:
        """The entity to pass to ``repo.create`` (a fresh id when none was sent)."""
        data = self.model_dump(exclude_unset=True)
        if data.get("id") is None:
            data.pop("id", None)
        return cast(E, self.__entity__.model_validate(data))


class UpdateInput(BaseModel, Generic[E]):
    """Base of every ``XUpdate`` schema; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    __entity__: ClassVar[type[Entity]]

    def to_updates(self) -> dict[str, Any]:
        """The fields the client sent, as the ``updates`` dict of ``repo.update``."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def _fields(model: type[Entity], *, optional: bool) -> dict[str, Any]:
    owned = owned_fields(model) | {"id"}
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in owned:
            continue
        if optional:
            # The entity's own type and constraints, but not required: a field the
            # client leaves out is not in ``model_fields_set`` and so not updated.
            copy = info._copy()  # pydantic's supported way to derive a FieldInfo
            copy.default = None
            copy.default_factory = None
            out[name] = (info.annotation, copy)
        else:
            out[name] = (info.annotation, info)
    return out


def _new_model(model_name: str, /, **kwargs: Any) -> Any:
    return create_model(model_name, **kwargs)


def create_input(model: type[E], *, name: str | None = None) -> type[CreateInput[E]]:
    """A create schema for ``model``: its fields minus owned ones, ``id`` optional."""
    fields = _fields(model, optional=False)
    fields["id"] = (UUID | None, Field(default=None))
    created: Any = _new_model(
        name or f"{model.__name__}Create",
        __base__=CreateInput[model],  # type: ignore[valid-type]
        __module__=model.__module__,
        **fields,
    )
    created.__entity__ = model
    return cast(type[CreateInput[E]], created)


def update_input(model: type[E], *, name: str | None = None) -> type[UpdateInput[E]]:
    """An update schema for ``model``: every client-writable field, all optional."""
    created: Any = _new_model(
        name or f"{model.__name__}Update",
        __base__=UpdateInput[model],  # type: ignore[valid-type]
        __module__=model.__module__,
        **_fields(model, optional=True),
    )
    created.__entity__ = model
    return cast(type[UpdateInput[E]], created)


if TYPE_CHECKING:
    # Static view: the generated classes are the generic bases specialised to their
    # entity, so ``to_entity()`` / ``to_updates()`` are typed; at runtime they carry
    # every field (FastAPI and pydantic see the generated class).
    AgentCreate = CreateInput[Agent]
    AgentUpdate = UpdateInput[Agent]
    ToolCreate = CreateInput[Tool]
    ToolUpdate = UpdateInput[Tool]
    WorkflowCreate = CreateInput[Workflow]
    WorkflowUpdate = UpdateInput[Workflow]
    TaskCreate = CreateInput[Task]
    TaskUpdate = UpdateInput[Task]
    PlaybookCreate = CreateInput[Playbook]
    PlaybookUpdate = UpdateInput[Playbook]
    UserCreate = CreateInput[User]
    UserUpdate = UpdateInput[User]
    MessageCreate = CreateInput[Message]
    MessageUpdate = UpdateInput[Message]
else:
    AgentCreate = create_input(Agent)
    AgentUpdate = update_input(Agent)
    ToolCreate = create_input(Tool)
    ToolUpdate = update_input(Tool)
    WorkflowCreate = create_input(Workflow)
    WorkflowUpdate = update_input(Workflow)
    TaskCreate = create_input(Task)
    TaskUpdate = update_input(Task)
    PlaybookCreate = create_input(Playbook)
    PlaybookUpdate = update_input(Playbook)
    UserCreate = create_input(User)
    UserUpdate = update_input(User)
    MessageCreate = create_input(Message)
    MessageUpdate = update_input(Message)
