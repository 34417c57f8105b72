"""The base of every stored entity and its codec to and from SurrealDB rows.

Every repository goes through three methods here, so the rules about how a
Python value becomes a SurrealDB value live in exactly one place:

* :meth:`Entity.to_record` builds the ``CONTENT`` of a write,
* :meth:`Entity.from_record` turns a row the SDK returned into a model,
* :meth:`Entity.coerce_updates` validates and encodes a partial update.

Record ids are ``table:u'<uuid>'``; models only ever see the ``UUID``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from surrealdb import Null, NullType, RecordID

from ..validation import IDENT_RE, as_uuid, check_update_path, check_value

__all__ = [
    "IDENT_RE",
    "Entity",
    "NonNegativeFloat",
    "UtcDatetime",
    "decode_value",
    "encode_value",
]

#: One identifier segment; the query builder applies the same rule.


def _to_plain_utc(value: datetime) -> datetime:
    """Normalise a datetime to a plain, aware ``datetime``.

    The SDK returns ``PreciseDatetime`` (a subclass carrying nanoseconds); models
    hold plain ``datetime`` so equality, pickling and JSON behave ordinarily. A
    naive value is taken to be UTC rather than the machine's local time, because
    the database stores instants and a silent local-time shift is worse than a
    documented assumption.
    """
    plain = datetime.combine(value.date(), value.timetz())
    if plain.tzinfo is None:
        plain = plain.replace(tzinfo=UTC)
    return plain


#: A datetime normalised to a plain aware ``datetime`` (naive means UTC).
UtcDatetime = Annotated[datetime, AfterValidator(_to_plain_utc)]

#: Durations and similar measurements: a negative value is always a bug.
NonNegativeFloat = Annotated[float, Field(ge=0)]


def encode_value(value: Any, *, nested: bool = False) -> Any:
    """Turn a Python value into what the SDK should send.

    Enums become their ``.value``, nested models become dicts (recursively),
    tuples/sets become lists. UUIDs, datetimes, RecordIDs and scalars are left
    for the SDK's CBOR encoder, which knows their SurrealDB types.

    ``None`` is the subtle one: the SDK sends it as ``NONE`` (absent), which is
    right for a top-level ``option<T>`` field but would silently *drop the key*
    inside a free-form object (``{"a": None}`` would be stored as ``{}``). So
    below the top level (``nested=True``) ``None`` is sent as SurrealDB ``NULL``.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:  # the common case, first
        return value
    if value is None:
        return Null if nested else None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return {name: encode_value(getattr(value, name), nested=True) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {key: encode_value(item, nested=True) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode_value(item, nested=True) for item in value]
    return value


def decode_value(value: Any) -> Any:
    """Turn an SDK value back into a plain Python value (recursively).

    ``PreciseDatetime`` becomes a plain aware ``datetime``, ``NULL`` becomes
    ``None``; RecordIDs nested in free-form dicts are left alone (they are not
    references the model knows).
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:  # the common case, first
        return value
    if value is None or isinstance(value, NullType):
        return None
    if isinstance(value, datetime):
        return _to_plain_utc(value)
    if isinstance(value, Mapping):
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


def _record_uuid(value: Any) -> Any:
    """The UUID inside a RecordID (or the value unchanged if it is not one)."""
    if isinstance(value, RecordID):
        inner = value.id
        if isinstance(inner, UUID):
            return inner
        if isinstance(inner, str):
            try:
                return UUID(inner)
            except ValueError:
                return inner
        return inner
    return value


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete alternatives of an annotation (Annotated/Optional stripped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        out: list[Any] = []
        for arg in get_args(annotation):
            if arg is not NoneType:
                out.extend(_unwrap(arg))
        return out
    return [annotation]


def _is_dict_type(annotation: Any) -> bool:
    return any(alt is dict or get_origin(alt) is dict for alt in _unwrap(annotation))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for alt in _unwrap(annotation):
        if isinstance(alt, type) and issubclass(alt, BaseModel):
            return alt
    return None


def _path_ok(model: type[BaseModel], segments: list[str]) -> bool:
    head, rest = segments[0], segments[1:]
    if not IDENT_RE.match(head):
        return False
    field = model.model_fields.get(head)
    if field is None:
        return False
    if not rest:
        return True
    if not all(IDENT_RE.match(seg) for seg in rest):
        return False
    if _is_dict_type(field.annotation):
        return True
    nested = _nested_model(field.annotation)
    return nested is not None and _path_ok(nested, rest)


@lru_cache(maxsize=512)
def _adapter_for(model: type[BaseModel], field_name: str) -> TypeAdapter[Any]:
    """A cached TypeAdapter carrying the field's annotation *and* its constraints."""
    field = model.model_fields[field_name]
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]
    return TypeAdapter(annotation)


def _error_summary(exc: PydanticValidationError) -> str:
    """Pydantic's messages without the offending input (it may be a secret)."""
    return "; ".join(str(err.get("msg", "invalid value")) for err in exc.errors())


class Entity(BaseModel):
    """A record of one SurrealDB table, addressed by ``table:u'<uuid>'``.

    ``created_at``/``updated_at`` are set by the database (``VALUE time::now()``)
    and the optimistic-lock counter named by ``__lock_field__`` is owned by it
    too (1 on create, +1 per edit, never lower): :meth:`to_record` sends none of
    them and :meth:`coerce_updates` refuses them.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)

    #: SurrealDB table name.
    __table__: ClassVar[str]
    #: model field holding another entity's UUID → that entity's table.
    __references__: ClassVar[dict[str, str]] = {}
    #: optimistic-lock counter field, or None when rows are append-only.
    __lock_field__: ClassVar[str | None] = None
    #: fields an update may never write.
    __readonly__: ClassVar[frozenset[str]] = frozenset({"id", "created_at", "updated_at"})

    id: UUID = Field(default_factory=uuid4)
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None

    # ----------------------------------------------------------------- codec

    @classmethod
    def _encode_for(cls, name: str, value: Any) -> Any:
        table = cls.__references__.get(name)
        if table is not None:
            if value is None:
                return None
            if isinstance(value, RecordID):
                return value
            return RecordID(table, as_uuid(value, name))  # model_construct() skips validation
        check_value(value, name)  # before encoding: encode_value recurses per level
        return encode_value(value)

    def to_record(self) -> dict[str, Any]:
        """The dict to send as ``CONTENT``: every field but those the database owns.

        The id travels as the record id; ``created_at``/``updated_at`` and the lock
        counter are set by the schema (``schema/0011_owned_fields.surql``), so a
        model's copy of them, possibly stale, is never sent: an upsert of an old
        model cannot move ``version`` backwards. ``None`` is kept: the SDK sends it
        as ``NONE``, which ``option<T>`` fields accept (``NULL`` would be refused).
        """
        skip = {"id", "created_at", "updated_at", type(self).__lock_field__}
        return {
            name: type(self)._encode_for(name, getattr(self, name))
            for name in type(self).model_fields
            if name not in skip
        }

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> Self:
        """Build a model from a row as the SDK returns it.

        Keys the model does not know (``password_hash``, ``email_key``, a search
        ``score``, computed projections) are dropped, so a repository can select
        extra columns without breaking decoding.
        """
        fields = cls.model_fields
        data: dict[str, Any] = {}
        for key, value in row.items():
            if key not in fields:
                continue
            if key == "id" or key in cls.__references__:
                data[key] = _record_uuid(value)
            else:
                data[key] = decode_value(value)
        return cls.model_validate(data)

    # ------------------------------------------------------- field metadata

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """The model's field names (the only identifiers a filter may name)."""
        return frozenset(cls.model_fields)

    @classmethod
    def field_path_ok(cls, dotted: str) -> bool:
        """Whether ``dotted`` names a model field or a key below a dict/model field.

        ``config.model`` is allowed (``config`` is a dict); ``name.x`` is not.
        """
        if not isinstance(dotted, str) or not dotted:
            return False
        return _path_ok(cls, dotted.split("."))

    @classmethod
    def coerce_updates(cls, updates: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a partial update and encode it exactly as ``to_record`` would.

        Raises ``ValueError`` naming the offending field, never its value.
        """
        out: dict[str, Any] = {}
        for key, value in updates.items():
            if not isinstance(key, str) or not key:
                raise ValueError("update keys must be non-empty strings")
            segments = key.split(".")
            if not all(IDENT_RE.match(seg) for seg in segments):
                raise ValueError(f"invalid field name {key!r}")
            head = segments[0]
            if head not in cls.model_fields:
                raise ValueError(f"unknown field {key!r} for {cls.__name__}")
            if head in cls.__readonly__:
                raise ValueError(f"field {key!r} is read-only")
            if head == cls.__lock_field__:
                raise ValueError(f"field {key!r} is the lock counter and is set by the repository")
            check_update_path(key, value, head)  # key path + value depth, before encoding
            if len(segments) > 1:
                out[key] = cls._coerce_nested(key, segments, value)
                continue
            if head in cls.__references__:
                table = cls.__references__[head]
                if isinstance(value, RecordID):
                    if value.table_name != table:
                        raise ValueError(f"field {key!r} must reference table {table!r}")
                    value = _record_uuid(value)
            try:
                validated = _adapter_for(cls, head).validate_python(value)
            except PydanticValidationError as exc:
                raise ValueError(f"invalid value for field {key!r}: {_error_summary(exc)}") from None
            out[key] = cls._encode_for(head, validated)
        return out

    @classmethod
    def _coerce_nested(cls, key: str, segments: list[str], value: Any) -> Any:
        model: type[BaseModel] = cls
        for index, seg in enumerate(segments):
            field = model.model_fields.get(seg)
            if field is None:
                raise ValueError(f"unknown field {key!r} for {cls.__name__}")
            if index == len(segments) - 1:
                try:
                    validated = _adapter_for(model, seg).validate_python(value)
                except PydanticValidationError as exc:
                    summary = _error_summary(exc)
                    raise ValueError(f"invalid value for field {key!r}: {summary}") from None
                return encode_value(validated, nested=index > 0)
            if _is_dict_type(field.annotation):
                # Below a free-form dict any key is fine; the value is JSON-like.
                return encode_value(value, nested=True)
            nested = _nested_model(field.annotation)
            if nested is None:
                raise ValueError(f"field {key!r} has no nested keys")
            model = nested
        raise ValueError(f"invalid field name {key!r}")  # pragma: no cover
