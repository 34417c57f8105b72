"""Create/update input schemas: a request body can set every client field and nothing the database owns."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import pytest
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from agentical_repo.models import Agent, Entity, Message, Playbook, Task, Tool, User, Workflow, inputs
from agentical_repo.models.inputs import CreateInput, UpdateInput, create_input, owned_fields, update_input

PAIRS: list[tuple[type[Entity], Any, Any]] = [
    (Agent, inputs.AgentCreate, inputs.AgentUpdate),
    (Tool, inputs.ToolCreate, inputs.ToolUpdate),
    (Workflow, inputs.WorkflowCreate, inputs.WorkflowUpdate),
    (Task, inputs.TaskCreate, inputs.TaskUpdate),
    (Playbook, inputs.PlaybookCreate, inputs.PlaybookUpdate),
    (User, inputs.UserCreate, inputs.UserUpdate),
    (Message, inputs.MessageCreate, inputs.MessageUpdate),
]
IDS = [model.__name__ for model, _, _ in PAIRS]


@pytest.mark.parametrize(("model", "create", "update"), PAIRS, ids=IDS)
def test_fields_are_the_entity_fields_minus_owned_ones(model: type[Entity], create: Any, update: Any) -> None:
    owned = owned_fields(model)
    assert {"created_at", "updated_at"} <= owned
    if model.__lock_field__:
        assert model.__lock_field__ in owned
    client_fields = set(model.model_fields) - owned - {"id"}
    assert set(create.model_fields) == client_fields | {"id"}
    assert set(update.model_fields) == client_fields
    for name in client_fields:
        assert create.model_fields[name].annotation == model.model_fields[name].annotation
        assert create.model_fields[name].metadata == model.model_fields[name].metadata
        assert update.model_fields[name].metadata == model.model_fields[name].metadata
        assert not update.model_fields[name].is_required()


REFUSED = [
    pytest.param(create, update, field, id=f"{model.__name__}-{field}")
    for model, create, update in PAIRS
    for field in ("version", "created_at", "updated_at", "revision", "usage_count", "junk")
    if field not in create.model_fields
]


@pytest.mark.parametrize(("create", "update", "field"), REFUSED)
def test_owned_or_unknown_fields_are_refused(create: Any, update: Any, field: str) -> None:
    with pytest.raises(PydanticValidationError, match="Extra inputs are not permitted"):
        create.model_validate({field: 1})
    with pytest.raises(PydanticValidationError, match="Extra inputs are not permitted"):
        update.model_validate({field: 1})


def test_playbook_version_and_tool_counters_are_owned() -> None:
    assert {"version", "revision"} <= owned_fields(Playbook)
    assert {"usage_count", "last_used_at", "version"} <= owned_fields(Tool)


def test_to_entity_keeps_constraints_and_optional_id() -> None:
    made = inputs.AgentCreate.model_validate({"name": "a", "agent_type": "llm"}).to_entity()
    assert isinstance(made, Agent)
    assert made.version == 1
    fixed = uuid.uuid4()
    assert (
        inputs.AgentCreate.model_validate({"id": str(fixed), "name": "a", "agent_type": "t"}).to_entity().id
        == fixed
    )
    with pytest.raises(PydanticValidationError):
        inputs.AgentCreate.model_validate({"name": "", "agent_type": "llm"})
    with pytest.raises(PydanticValidationError):
        inputs.AgentCreate.model_validate({"agent_type": "llm"})


def test_to_updates_has_only_what_was_sent() -> None:
    assert inputs.AgentUpdate.model_validate({}).to_updates() == {}
    assert inputs.AgentUpdate.model_validate({"description": None}).to_updates() == {"description": None}
    assert set(inputs.TaskUpdate.model_validate({"priority": 3, "title": "t"}).to_updates()) == {
        "priority",
        "title",
    }
    with pytest.raises(PydanticValidationError):
        inputs.AgentUpdate.model_validate(
            {"name": None}
        )  # name is required on the entity: null is not a value
    with pytest.raises(PydanticValidationError):
        inputs.TaskUpdate.model_validate({"priority": 5000})


class Note(Entity):
    __table__: ClassVar[str] = "note"
    __lock_field__: ClassVar[str | None] = "version"
    __input_excluded__: ClassVar[frozenset[str]] = frozenset({"views"})

    text: str = Field(min_length=1)
    views: int = 0
    version: int = 1


def test_app_entities_get_the_same_pair() -> None:
    create = create_input(Note)
    update = update_input(Note)
    assert issubclass(create, CreateInput)
    assert issubclass(update, UpdateInput)
    assert create.__name__ == "NoteCreate"
    assert set(create.model_fields) == {"id", "text"}
    assert set(update.model_fields) == {"text"}
    assert create.model_validate({"text": "x"}).to_entity().text == "x"
    with pytest.raises(PydanticValidationError):
        create.model_validate({"text": "x", "views": 3})
