"""Golden text of ``surql.queries.playbooks``: exact SurrealQL and vars, no I/O."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.queries import playbooks

from ._golden import check

PLAYBOOK = RecordID("playbook", uuid.UUID("6f1c2b1e-0000-4000-8000-0000000000b0"))
EXECUTION = RecordID("playbook_execution", uuid.UUID("6f1c2b1e-0000-4000-8000-0000000000e0"))
NAME = "secret-playbook"
LOGS = [{"line": "secret-log-line"}]
FINISHED_AT = "finished_at = IF $status != 'running' { time::now() } ELSE { NONE }"


def test_create_version_numbers_the_version_in_the_database() -> None:
    content = {"name": NAME, "definition": {"steps": ["secret-step"]}}
    check(
        playbooks.create_version(PLAYBOOK, NAME, content),
        "{\n"
        "  LET $_latest = (SELECT VALUE version FROM playbook WHERE name = $name "
        "ORDER BY version DESC LIMIT 1)[0] ?? 0;\n"
        "  CREATE ONLY $id CONTENT object::extend($content, { version: $_latest + 1 }) RETURN AFTER\n"
        "}",
        {"name": NAME, "id": PLAYBOOK, "content": content},
        operation="CREATE",
        table="playbook",
    )


def test_latest() -> None:
    check(
        playbooks.latest(NAME),
        "SELECT * FROM playbook WHERE name = $name ORDER BY version DESC LIMIT 1",
        {"name": NAME},
        operation="SELECT",
        table="playbook",
    )


def test_version() -> None:
    check(
        playbooks.version(NAME, 4242),
        "SELECT * FROM playbook WHERE name = $name AND version = $version LIMIT 1",
        {"name": NAME, "version": 4242},
        operation="SELECT",
        table="playbook",
    )


def test_versions() -> None:
    check(
        playbooks.versions(NAME),
        "SELECT * FROM playbook WHERE name = $name ORDER BY version ASC",
        {"name": NAME},
        operation="SELECT",
        table="playbook",
    )


def test_record_execution_guards_the_playbook() -> None:
    check(
        playbooks.record_execution(PLAYBOOK, EXECUTION, "completed", LOGS),
        "{\n"
        "  IF !record::exists($playbook_id) { THROW { agentical: 1, table: 'playbook' } };\n"
        "  CREATE ONLY $id SET playbook_id = $playbook_id, status = $status, logs = $logs, "
        f"started_at = time::now(), {FINISHED_AT} RETURN AFTER\n"
        "}",
        {"playbook_id": PLAYBOOK, "id": EXECUTION, "status": "completed", "logs": LOGS},
        operation="CREATE",
        table="playbook_execution",
    )


def test_append_logs_concatenates_in_the_database() -> None:
    check(
        playbooks.append_logs(EXECUTION, LOGS),
        "{\n"
        "  IF !record::exists($id) { THROW { agentical: 1, table: 'playbook_execution' } };\n"
        "  UPDATE ONLY $id SET logs = array::concat(logs, $logs) RETURN AFTER\n"
        "}",
        {"id": EXECUTION, "logs": LOGS},
        operation="UPDATE",
        table="playbook_execution",
    )


def test_append_logs_with_a_status_stamps_finished_at() -> None:
    check(
        playbooks.append_logs(EXECUTION, LOGS, "failed"),
        "{\n"
        "  IF !record::exists($id) { THROW { agentical: 1, table: 'playbook_execution' } };\n"
        f"  UPDATE ONLY $id SET logs = array::concat(logs, $logs), status = $status, {FINISHED_AT} "
        "RETURN AFTER\n"
        "}",
        {"id": EXECUTION, "logs": LOGS, "status": "failed"},
        operation="UPDATE",
        table="playbook_execution",
    )


def test_execution_logs() -> None:
    check(
        playbooks.execution_logs(PLAYBOOK, 737),
        "SELECT * FROM playbook_execution WHERE playbook_id = $playbook_id "
        "ORDER BY created_at DESC, id DESC LIMIT $limit",
        {"playbook_id": PLAYBOOK, "limit": 737},
        operation="SELECT",
        table="playbook_execution",
    )
