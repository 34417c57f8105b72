"""Playbook statements: versions by name, executions and their append-only logs.

Pure functions: record ids and values in, ``Statement`` out. The next version
number is computed inside the database; the unique ``(name, version)`` index
makes it race-free (the repository retries the loser).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from surrealdb import RecordID

from .. import blocks
from ..statement import Sql, Statement, Var, sql

__all__ = [
    "append_logs",
    "create_version",
    "execution_logs",
    "latest",
    "record_execution",
    "version",
    "versions",
]

TABLE = "playbook"
EXECUTION = "playbook_execution"


def create_version(playbook: RecordID, name: str, content: Mapping[str, Any]) -> Statement:
    """Create ``playbook`` as version (latest version of ``name``) + 1, read in the same block.

    ``content`` is the record body without ``version``: the number comes from
    the database, never from the caller.
    """
    lines = [
        sql(
            "LET $_latest = (SELECT VALUE version FROM playbook WHERE name = {name} "
            "ORDER BY version DESC LIMIT 1)[0] ?? 0",
            name=Var(name, "name"),
        ),
        sql(
            "CREATE ONLY {id} CONTENT object::extend({content}, { version: $_latest + 1 }) RETURN AFTER",
            id=Var(playbook, "id"),
            content=Var(dict(content), "content"),
        ),
    ]
    return Statement(blocks.block(lines), operation="CREATE", table=TABLE)


def latest(name: str) -> Statement:
    """The highest version of ``name`` (index ``playbook_name_version``)."""
    text = sql(
        "SELECT * FROM playbook WHERE name = {name} ORDER BY version DESC LIMIT 1", name=Var(name, "name")
    )
    return Statement(text, operation="SELECT", table=TABLE)


def version(name: str, number: int) -> Statement:
    """Version ``number`` of ``name``."""
    text = sql(
        "SELECT * FROM playbook WHERE name = {name} AND version = {version} LIMIT 1",
        name=Var(name, "name"),
        version=Var(number, "version"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def versions(name: str) -> Statement:
    """Every version of ``name``, ascending."""
    text = sql("SELECT * FROM playbook WHERE name = {name} ORDER BY version ASC", name=Var(name, "name"))
    return Statement(text, operation="SELECT", table=TABLE)


def _finished_at(status: Var) -> Sql:
    """A final status stamps ``finished_at``; ``running`` clears it."""
    return sql("finished_at = IF {status} != 'running' { time::now() } ELSE { NONE }", status=status)


def record_execution(playbook: RecordID, execution: RecordID, status: str, logs: Sequence[Any]) -> Statement:
    """Create one execution of ``playbook``, started now; NOT_FOUND when the playbook is missing."""
    pb, state = Var(playbook, "playbook_id"), Var(status, "status")
    create = sql(
        "CREATE ONLY {id} SET playbook_id = {pb}, status = {status}, logs = {logs}, "
        "started_at = time::now(), {finished} RETURN AFTER",
        id=Var(execution, "id"),
        pb=pb,
        status=state,
        logs=Var(list(logs), "logs"),
        finished=_finished_at(state),
    )
    lines = [blocks.require_record(pb, TABLE), create]
    return Statement(blocks.block(lines), operation="CREATE", table=EXECUTION)


def append_logs(execution: RecordID, logs: Sequence[Any], status: str | None = None) -> Statement:
    """Concatenate ``logs`` in the database (concurrent appenders all land); maybe set ``status``.

    NOT_FOUND when the execution does not exist.
    """
    ex = Var(execution, "id")
    assigns = [sql("logs = array::concat(logs, {logs})", logs=Var(list(logs), "logs"))]
    if status is not None:
        state = Var(status, "status")
        assigns += [sql("status = {status}", status=state), _finished_at(state)]
    update = sql("UPDATE ONLY {id} SET {assigns} RETURN AFTER", id=ex, assigns=Sql.join(", ", assigns))
    lines = [blocks.require_record(ex, EXECUTION), update]
    return Statement(blocks.block(lines), operation="UPDATE", table=EXECUTION)


def execution_logs(playbook: RecordID, limit: int) -> Statement:
    """The playbook's executions with their logs, newest first."""
    text = sql(
        "SELECT * FROM playbook_execution WHERE playbook_id = {pb} "
        "ORDER BY created_at DESC, id DESC LIMIT {limit}",
        pb=Var(playbook, "playbook_id"),
        limit=Var(limit, "limit"),
    )
    return Statement(text, operation="SELECT", table=EXECUTION)
