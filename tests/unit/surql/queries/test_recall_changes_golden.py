"""Golden text of the recall (vector/hybrid), change-feed and batch-read statements.

The integration tests cover what the engine does with them; these pin the
statements themselves, their literal bounds on both sides and their telemetry
labels, so the mutation gate's unit-only run of ``surql/queries`` can judge them.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Any

import pytest
from strict_errors import refuses
from surrealdb import RecordID

from agentical_repo.surql.queries import changes, common, recall

U = uuid.UUID("00000000-0000-4000-8000-000000000001")
AFTER = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
BEFORE = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
ALL = recall.RecallFilters(
    conversation=U,
    role="user",
    author=RecordID("user", U),
    created_after=AFTER,
    created_before=BEFORE,
    own_rows_only=True,
)


def test_documented_values() -> None:
    assert (recall.MAX_K, recall.MAX_EF, recall.MAX_DIMENSION) == (1000, 4096, 16384)
    assert recall.DISTANCES == ("COSINE", "EUCLIDEAN", "MANHATTAN")
    assert (changes.MAX_VERSIONSTAMP, changes.MAX_FEED_GROUPS) == (2**64 - 1, 1000)


def test_semantic_with_every_filter() -> None:
    st = recall.semantic([0.1, 0.2], 5, 40, ALL)
    assert st.text == (
        "SELECT *, vector::distance::knn() AS distance FROM message WHERE embedding <|5,40|> $vector "
        "AND conversation_id = $conversation_id AND role = $role AND user_id = $user_id "
        "AND created_at >= $created_after AND created_at < $created_before AND user_id = $auth.id "
        "ORDER BY distance, id"
    )
    assert st.vars == {
        "vector": [0.1, 0.2],
        "conversation_id": U,
        "role": "user",
        "user_id": RecordID("user", U),
        "created_after": AFTER,
        "created_before": BEFORE,
    }
    assert (st.operation, st.table) == ("SELECT", "message")


def test_semantic_without_filters() -> None:
    st = recall.semantic([1.0], 1, 1, recall.RecallFilters())
    assert st.text == (
        "SELECT *, vector::distance::knn() AS distance FROM message WHERE embedding <|1,1|> $vector "
        "ORDER BY distance, id"
    )
    assert st.vars == {"vector": [1.0]}


def test_hybrid() -> None:
    st = recall.hybrid("hello", [0.5], 10, 50, 64, 60, recall.RecallFilters(role="agent"))
    assert st.text == (
        "{ LET $_v = (SELECT id, vector::distance::knn() AS distance FROM message "
        "WHERE embedding <|50,64|> $vector AND role = $role ORDER BY distance, id); "
        "LET $_t = (SELECT id, search::score(1) AS text_score, created_at FROM message "
        "WHERE content @1@ $query AND role = $role_1 "
        "ORDER BY text_score DESC, created_at DESC, id LIMIT $candidates); "
        "LET $_f = search::rrf([$_v, $_t], $limit, $rrf_k); "
        "RETURN { vector: $_v, text: $_t, fused: $_f, rows: (SELECT * FROM $_f.id) }; }"
    )
    assert st.vars == {
        "vector": [0.5],
        "role": "agent",
        "query": "hello",
        "role_1": "agent",
        "candidates": 50,
        "limit": 10,
        "rrf_k": 60,
    }
    assert (st.operation, st.table) == ("SELECT", "message")


@pytest.mark.parametrize(("k", "ef"), [(1, 1), (1000, 4096)])
def test_knn_literals_accepted_at_both_ends(k: int, ef: int) -> None:
    assert f"<|{k},{ef}|>" in recall.semantic([1.0], k, ef, recall.RecallFilters()).text


@pytest.mark.parametrize(
    ("k", "ef", "argument", "message"),
    [
        (0, 1, "limit", "limit must be an integer in 1..1000"),
        (1001, 1, "limit", "limit must be an integer in 1..1000"),
        (1, 0, "ef", "ef must be an integer in 1..4096"),
        (1, 4097, "ef", "ef must be an integer in 1..4096"),
        (True, 1, "limit", "limit must be an integer in 1..1000"),
    ],
)
def test_knn_literals_refused_just_outside(k: Any, ef: int, argument: str, message: str) -> None:
    refuses(lambda: recall.semantic([1.0], k, ef, recall.RecallFilters()), argument, message)


def test_vector_index_ddl() -> None:
    assert recall.vector_index_ddl(384, "euclidean", m=16, efc=200) == (
        "DEFINE INDEX OVERWRITE message_embedding ON message FIELDS embedding "
        "HNSW DIMENSION 384 DIST EUCLIDEAN TYPE F32 EFC 200 M 16;\n"
    )
    assert recall.vector_index_ddl(16384, m=128, efc=4096).endswith(
        "DIMENSION 16384 DIST COSINE TYPE F32 EFC 4096 M 128;\n"
    )
    assert recall.vector_index_ddl(1, "Manhattan", m=2, efc=8).endswith(
        "DIMENSION 1 DIST MANHATTAN TYPE F32 EFC 8 M 2;\n"
    )


DIST = "distance must be one of COSINE, EUCLIDEAN, MANHATTAN"


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        ({"dimension": 0}, "dimension", "dimension must be an integer in 1..16384"),
        ({"dimension": 16385}, "dimension", "dimension must be an integer in 1..16384"),
        (
            {"dimension": 8, "distance": "HAMMING"},
            "distance",
            "distance must be one of COSINE, EUCLIDEAN, MANHATTAN",
        ),
        ({"dimension": 8, "distance": 5}, "distance", "distance must be one of COSINE, EUCLIDEAN, MANHATTAN"),
        ({"dimension": 8, "m": 1}, "m", "m must be an integer in 2..128"),
        ({"dimension": 8, "m": 129}, "m", "m must be an integer in 2..128"),
        ({"dimension": 8, "efc": 7}, "efc", "efc must be an integer in 8..4096"),
        ({"dimension": 8, "efc": 4097}, "efc", "efc must be an integer in 8..4096"),
    ],
)
def test_vector_index_ddl_refusals(kwargs: dict[str, Any], argument: str, message: str) -> None:
    refuses(lambda: recall.vector_index_ddl(**kwargs), argument, message)


def test_feed_read() -> None:
    st = changes.feed_read("agent", 7, 100)
    assert st.text == (
        "RETURN time::now(); RETURN (INFO FOR DB).tables[$table]; "
        "SHOW CHANGES FOR TABLE agent SINCE 7 LIMIT 100"
    )
    assert st.vars == {"table": "agent"}
    assert (st.operation, st.table, st.count) == ("SELECT", "agent", 3)


def test_feed_read_literal_bounds_both_sides() -> None:
    top = changes.feed_read("agent", 2**64 - 1, 1000).text
    assert top.endswith(f"SINCE {2**64 - 1} LIMIT 1000")
    assert changes.feed_read("agent", 0, 1).text.endswith("SINCE 0 LIMIT 1")
    since = f"since must be an integer in 0..{2**64 - 1}"
    refuses(lambda: changes.feed_read("agent", -1, 1), "since", since)
    refuses(lambda: changes.feed_read("agent", 2**64, 1), "since", since)
    refuses(lambda: changes.feed_read("agent", 0, 0), "limit", "limit must be an integer in 1..1000")
    refuses(lambda: changes.feed_read("agent", 0, 1001), "limit", "limit must be an integer in 1..1000")
    refuses(
        lambda: changes.feed_read("a-b", 0, 1),
        "table",
        "invalid table 'a-b': must match ^[A-Za-z_][A-Za-z0-9_]*$",
    )


def test_int_literal_is_the_plain_integer() -> None:
    assert changes.int_literal(5, "n", 5, 5).text == "5"
    refuses(lambda: changes.int_literal(5.0, "n", 0, 9), "n", "n must be an integer in 0..9")
    refuses(lambda: changes.int_literal(False, "n", 0, 9), "n", "n must be an integer in 0..9")


def test_batch_reads_and_inserts() -> None:
    rids = [RecordID("agent", U), RecordID("agent", uuid.UUID(int=2))]
    st = common.get_records("agent", rids)
    assert (st.text, st.vars) == ("SELECT * FROM $ids", {"ids": rids})
    assert (st.operation, st.table, st.batch_size) == ("SELECT", "agent", 2)
    rows = [{"a": 1}, {"a": 2}, {"a": 3}]
    ins = common.insert_returning("agent", rows)
    assert (ins.text, ins.vars) == ("INSERT INTO agent $rows", {"rows": rows})
    assert (ins.operation, ins.table, ins.batch_size) == ("INSERT", "agent", 3)
    refuses(
        lambda: common.insert_returning("a-b", rows),
        "table",
        "invalid table 'a-b': must match ^[A-Za-z_][A-Za-z0-9_]*$",
    )


def test_vector_index_ddl_defaults() -> None:
    assert recall.vector_index_ddl(384) == (
        "DEFINE INDEX OVERWRITE message_embedding ON message FIELDS embedding "
        "HNSW DIMENSION 384 DIST COSINE TYPE F32 EFC 150 M 12;\n"
    )


def test_vector_index_maintenance() -> None:
    rebuild = recall.rebuild_index()
    assert rebuild.text == "REBUILD INDEX message_embedding ON message"
    assert (rebuild.vars, rebuild.operation, rebuild.table) == ({}, "REBUILD", "message")
    status = recall.index_status()
    assert status.text == "INFO FOR INDEX message_embedding ON message"
    assert (status.vars, status.operation, status.table) == ({}, "INFO", "message")


def test_vector_index_reads() -> None:
    definition = recall.index_definition()
    assert definition.text == "RETURN (INFO FOR TABLE message).indexes[$index]"
    assert (definition.vars, definition.operation, definition.table) == (
        {"index": "message_embedding"},
        "INFO",
        "message",
    )


def test_brute_force_knn_uses_the_given_distance() -> None:
    st = recall.semantic([1.0], 3, 40, recall.RecallFilters(role="user"), exact="euclidean")
    assert st.text == (
        "SELECT *, vector::distance::knn() AS distance FROM message WHERE embedding <|3,EUCLIDEAN|> $vector "
        "AND role = $role ORDER BY distance, id"
    )
    hybrid = recall.hybrid("q", [1.0], 2, 4, 8, 60, recall.RecallFilters(), exact="MANHATTAN")
    assert "WHERE embedding <|4,MANHATTAN|> $vector ORDER BY distance, id" in hybrid.text
    bad: Any
    for bad in ("HAMMING", "", 3):
        refuses(
            functools.partial(recall.semantic, [1.0], 3, 40, recall.RecallFilters(), exact=bad),
            "distance",
            "distance must be one of COSINE, EUCLIDEAN, MANHATTAN",
        )
