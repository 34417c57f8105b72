"""Spans and metrics for every database operation, with OpenTelemetry DB attributes.

The library only *emits*: it never calls ``logfire.configure()``. Without an
application configuring logfire (or OpenTelemetry) the spans are no-ops. Span
attributes follow the OpenTelemetry database semantic conventions; the query
text is the parameterised SurrealQL, and bound values are never recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import logfire

__all__ = ["DEFAULT_SPAN_LEVEL", "SPAN_LEVELS", "OperationSpan", "Telemetry"]

_logfire = logfire.with_settings(custom_scope_suffix="agentical_repo")
MAX_QUERY_TEXT = 4096


@dataclass
class OperationSpan:
    """Handle used while an operation runs, to add what is only known at the end."""

    span: Any
    attributes: dict[str, Any] = field(default_factory=dict)

    def set_rows(self, rows: int) -> None:
        self.attributes["db.response.returned_rows"] = rows
        self.span.set_attribute("db.response.returned_rows", rows)

    def set(self, key: str, value: Any) -> None:
        self.attributes[key] = value
        self.span.set_attribute(key, value)


# ``logfire.span()`` formats its message template, inspects the calling frame and builds
# a JSON schema on every call, even with logfire unconfigured: a large share of an
# embedded round trip (docs/performance.md has the numbers). A database span has a fixed
# name and primitive attributes, so it takes logfire's fast path (the one its
# auto-tracing uses) with the same ``logfire.*`` attributes precomputed; an exception
# still ends the span at error level with the exception event.
_fast_span = getattr(_logfire, "_fast_span", None)

#: logfire's level numbers for the levels a span may be emitted at.
SPAN_LEVELS: dict[str, int] = {"trace": 1, "debug": 5, "info": 9, "notice": 10}
DEFAULT_SPAN_LEVEL = "info"


@lru_cache(maxsize=64)
def _json_schema(keys: tuple[str, ...]) -> str:
    return json.dumps({"type": "object", "properties": {k: {} for k in keys}}, separators=(",", ":"))


def _start_span(name: str, attrs: dict[str, Any], level: str) -> Any:
    if _fast_span is None:  # pragma: no cover - older/newer logfire without the fast path
        return _logfire.span(name, _span_name=name, _level=cast(Any, level), **attrs)
    otlp: dict[str, Any] = {
        **attrs,
        "logfire.msg_template": name,
        "logfire.msg": name,
        "logfire.level_num": SPAN_LEVELS[level],
        "logfire.json_schema": _json_schema((*attrs, "db.response.returned_rows")),
    }
    return _fast_span(name, otlp)


class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        pass


_NO_SPAN = _NoSpan()


def _recording() -> bool:
    """False only while logfire is known to be unconfigured.

    Until ``logfire.configure()`` runs, logfire exports nothing, not even through a
    global OpenTelemetry provider, and never replays earlier spans (both checked), so
    building spans and metrics then is pure cost on every request.
    """
    config = getattr(_logfire, "config", None)
    return getattr(config, "_initialized", True) is not False


class Telemetry:
    """Spans and the ``db.client.operation.duration`` histogram for one ``Database``.

    Spans are emitted at ``info`` by default, so an application that only calls
    ``logfire.configure()`` sees every operation on its console; ``span_level``
    (``DatabaseSettings.span_level``) lowers them to ``debug`` for apps that want
    database spans exported but hidden from the console by default.
    """

    def __init__(self, namespace: str, database: str, *, span_level: str = DEFAULT_SPAN_LEVEL) -> None:
        if span_level not in SPAN_LEVELS:
            raise ValueError(f"span_level must be one of {', '.join(SPAN_LEVELS)}")
        self.span_level = span_level
        self.db_namespace = f"{namespace}|{database}"
        self._duration = _logfire.metric_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
        )
        self._cache_hits = _logfire.metric_counter(
            "agentical.cache.hits", unit="1", description="Read-cache hits."
        )
        self._cache_misses = _logfire.metric_counter(
            "agentical.cache.misses", unit="1", description="Read-cache misses."
        )

    def cache_event(self, table: str, hit: bool) -> None:
        if not _recording():
            return
        (self._cache_hits if hit else self._cache_misses).add(1, {"db.collection.name": table})

    @contextmanager
    def operation(
        self,
        operation: str,
        table: str | None,
        query_text: str,
        batch_size: int | None = None,
    ) -> Iterator[OperationSpan]:
        """Span named ``{db.operation.name} {db.collection.name}`` around one request."""
        if not _recording():
            yield OperationSpan(_NO_SPAN, {})
            return
        name = f"{operation} {table}" if table else operation
        attrs: dict[str, Any] = {
            "db.system.name": "surrealdb",
            "db.namespace": self.db_namespace,
            "db.operation.name": operation,
            "db.query.text": query_text[:MAX_QUERY_TEXT],
        }
        if table:
            attrs["db.collection.name"] = table
        if batch_size is not None and batch_size >= 2:
            attrs["db.operation.batch.size"] = batch_size
        metric_attrs: dict[str, Any] = {
            k: attrs[k]
            for k in ("db.system.name", "db.namespace", "db.operation.name", "db.collection.name")
            if k in attrs
        }
        start = time.perf_counter()
        error_type: str | None = None
        with _start_span(name, attrs, self.span_level) as entered:
            span = getattr(entered, "_span", entered)
            handle = OperationSpan(span, attrs)
            try:
                yield handle
            except BaseException as exc:
                error_type = getattr(exc, "code", None) or type(exc).__name__
                span.set_attribute("error.type", error_type)
                raise
            finally:
                if error_type:
                    metric_attrs["error.type"] = error_type
                self._duration.record(time.perf_counter() - start, metric_attrs)
