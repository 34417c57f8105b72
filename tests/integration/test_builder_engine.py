"""The builder's SurrealQL on the real engine: each lookup selects exactly the rows it says.

Golden tests (tests/unit) pin the text; these prove the text *means* what the
lookup or builder promises, on a SCHEMAFULL scratch table with missing (NONE)
fields, nested NULLs, arrays, dotted object keys and a reserved field name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from surrealdb import RecordID
from surrealdb.data.types.datetime import PreciseDatetime

from agentical_repo import Database
from agentical_repo.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    QueryError,
    ValidationError,
    error_from_entry,
)
from agentical_repo.pagination import decode_cursor, encode_cursor
from agentical_repo.surql import Statement, builder, compile_filters, compose
from agentical_repo.surql.filters import conjoin, keyset_condition, normalize_order
from agentical_repo.surql.statement import Var, sql

SCHEMA = """
DEFINE TABLE item SCHEMAFULL;
DEFINE FIELD name ON item TYPE option<string>;
DEFINE FIELD priority ON item TYPE option<int>;
DEFINE FIELD tags ON item TYPE array<string> DEFAULT [];
DEFINE FIELD config ON item TYPE object FLEXIBLE DEFAULT {};
DEFINE FIELD value ON item TYPE option<int>;
DEFINE FIELD n ON item TYPE int DEFAULT 0;
DEFINE FIELD at ON item TYPE datetime VALUE time::now() READONLY;
DEFINE TABLE thing SCHEMAFULL;
DEFINE FIELD name ON thing TYPE string;
DEFINE TABLE link TYPE RELATION IN item OUT thing ENFORCED SCHEMAFULL;
DEFINE FIELD weight ON link TYPE option<int>;
DEFINE INDEX link_pair ON link FIELDS in, out UNIQUE;
"""

ROWS = """
CREATE item:a CONTENT { name: 'Alpha', priority: 1, tags: ['x', 'y'], value: 7,
    config: { model: 'gpt-4', level: 1, note: NULL, deep: { k: 'v' } } };
CREATE item:b CONTENT { name: 'beta', priority: 5, tags: ['y'], value: 3,
    config: { model: 'claude', level: 2 } };
CREATE item:c CONTENT { tags: [] };
CREATE item:d CONTENT { name: 'Gamma none', priority: 10, tags: ['z', 'x'],
    config: { model: 'GPT-3', level: NULL } };
"""


async def scratch(db: Database) -> Database:
    await db.query(SCHEMA)
    await db.query(ROWS)
    return db


async def ids(db: Database, filters: dict[str, Any]) -> list[str]:
    where = compile_filters(filters)
    rows = await db.execute(builder.select("item", fields=["id"], where=where, order_by=["id"]))
    return [row["id"].id for row in rows]


# --------------------------------------------------------------------------- every lookup


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"name": "beta"}, ["b"]),
        ({"name__eq": "Alpha"}, ["a"]),
        ({"name__ne": "beta"}, ["a", "c", "d"]),  # a missing name is "not beta"
        ({"priority__gt": 1}, ["b", "d"]),
        ({"priority__gte": 5}, ["b", "d"]),
        ({"priority__lt": 5}, ["a"]),  # the row without priority is not "less than 5"
        ({"priority__lte": 5}, ["a", "b"]),
        ({"priority__in": [1, 10, 99]}, ["a", "d"]),
        ({"priority__in": []}, []),
        ({"priority__not_in": [1, 10]}, ["b", "c"]),
        ({"tags__contains": "x"}, ["a", "d"]),
        ({"tags__contains_any": ["z", "q"]}, ["d"]),
        ({"tags__contains_any": ["y", "z"]}, ["a", "b", "d"]),
        ({"tags__contains_all": ["x", "y"]}, ["a"]),
        ({"tags__contains_all": ["x"]}, ["a", "d"]),
        ({"name__contains": "et"}, ["b"]),
        ({"name__startswith": "Al"}, ["a"]),
        ({"name__startswith": "al"}, []),  # case-sensitive
        ({"name__startswith": "NO"}, []),  # <string>NONE is 'NONE': the missing name must not match
        ({"name__endswith": "none"}, ["d"]),
        ({"name__endswith": "NE"}, []),
        ({"name__icontains": "ALP"}, ["a"]),
        ({"name__icontains": "non"}, ["d"]),  # not the row whose name is missing
        ({"name__icontains": "A"}, ["a", "b", "d"]),
        ({"name__isnull": True}, ["c"]),
        ({"name__isnull": False}, ["a", "b", "d"]),
        ({"name": None}, ["c"]),
        ({"name__ne": None}, ["a", "b", "d"]),
        ({"priority__between": (1, 5)}, ["a", "b"]),
        ({"priority__between": [6, 100]}, ["d"]),
        ({"priority__gte": 1, "priority__lte": 9, "tags__contains": "y"}, ["a", "b"]),
    ],
)
async def test_lookup_selects_exactly(
    bare_db: Database, filters: dict[str, Any], expected: list[str]
) -> None:
    db = await scratch(bare_db)
    assert await ids(db, filters) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"config.model": "claude"}, ["b"]),
        ({"config.model__icontains": "gpt"}, ["a", "d"]),
        ({"config.model__startswith": "gpt"}, ["a"]),
        ({"config.level__gte": 1}, ["a", "b"]),
        ({"config.level__lt": 2}, ["a"]),  # NULL level (d) and missing level (c) are not < 2
        ({"config.level__isnull": True}, ["c", "d"]),  # NULL (d) and missing (c)
        ({"config.level__isnull": False}, ["a", "b"]),
        ({"config.note__isnull": True}, ["a", "b", "c", "d"]),
        ({"config.level": None}, ["c", "d"]),
        ({"config.deep.k": "v"}, ["a"]),
        ({"config.deep.k__isnull": False}, ["a"]),
        ({"config.model__in": ["claude", "GPT-3"]}, ["b", "d"]),
        ({"config.model__not_in": ["claude"]}, ["a", "c", "d"]),
        ({"value__gt": 5}, ["a"]),  # reserved field name, quoted
        ({"value": 3}, ["b"]),
    ],
)
async def test_dotted_and_reserved_keys(
    bare_db: Database, filters: dict[str, Any], expected: list[str]
) -> None:
    db = await scratch(bare_db)
    assert await ids(db, filters) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"$or": [{"name": "beta"}, {"priority__gte": 10}]}, ["b", "d"]),
        ({"$or": [{"name__isnull": True}, {"tags__contains": "y"}]}, ["a", "b", "c"]),
        ({"$or": [{"priority": 1}], "tags__contains": "x"}, ["a"]),
        ({"$not": {"priority__lt": 5}}, ["b", "c", "d"]),  # the missing priority is not < 5
        ({"$not": {"name__startswith": "Al"}}, ["b", "c", "d"]),
        ({"$not": {"priority__gte": 1, "priority__lte": 5}}, ["c", "d"]),
        ({"$not": {"$or": [{"name": "beta"}, {"name__isnull": True}]}}, ["a", "d"]),
        ({"$and": [{"priority__gte": 1}, {"$not": {"config.level": 2}}]}, ["a", "d"]),
        ({"$and": [{"$or": [{"value": 3}, {"value": 7}]}, {"$or": [{"tags__contains": "x"}]}]}, ["a"]),
        (
            {"$or": [{"$and": [{"config.model__icontains": "gpt"}, {"priority__gt": 1}]}, {"tags": []}]},
            ["c", "d"],
        ),
        ({"$not": {"$not": {"name": "beta"}}}, ["b"]),
    ],
)
async def test_groups_select_exactly(bare_db: Database, filters: dict[str, Any], expected: list[str]) -> None:
    db = await scratch(bare_db)
    assert await ids(db, filters) == expected


async def test_hostile_filter_values_match_literally(bare_db: Database) -> None:
    db = await scratch(bare_db)
    await db.query("CREATE item:h CONTENT { name: $n }", {"n": "x' OR true; --"})
    assert await ids(db, {"name": "x' OR true; --"}) == ["h"]
    assert await ids(db, {"name__startswith": "x' OR"}) == ["h"]
    assert await ids(db, {"name": "' OR 1=1 --"}) == []
    assert await ids(db, {"name__in": ["$auth", "⟩; DELETE item; ⟨"]}) == []
    assert len(await ids(db, {})) == 5


# --------------------------------------------------------------------------- builders on the engine


U1 = uuid.UUID("00000000-0000-4000-8000-000000000001")
U2 = uuid.UUID("00000000-0000-4000-8000-000000000002")
U3 = uuid.UUID("00000000-0000-4000-8000-000000000003")


async def test_create_select_update_upsert_delete(bare_db: Database) -> None:
    db = await scratch(bare_db)
    created = await db.execute(builder.create("item", U1, {"name": "one", "priority": 2, "config": {"m": 1}}))
    assert created["id"] == RecordID("item", U1)
    assert isinstance(created["id"].id, uuid.UUID)
    assert isinstance(created["at"], dt.datetime)
    with pytest.raises(AlreadyExistsError):
        await db.execute(builder.create("item", U1, {"name": "again"}))

    got = await db.execute(builder.select("item", record=U1, only=True, omit=["config", "at"]))
    assert got == {"id": RecordID("item", U1), "name": "one", "priority": 2, "tags": [], "n": 0}
    assert await db.execute(builder.select("item", record=U3, only=True)) is None

    merged = await db.execute(builder.update("item", U1, merge={"config": {"k": "v"}}))
    assert len(merged) == 1  # without ONLY an UPDATE returns a list
    assert merged[0]["config"] == {"m": 1, "k": "v"}

    stmt = builder.update(
        "item",
        U1,
        set={"name": "renamed", "config.m": 5, "value": 9},
        increment={"n": 3},
        where=sql("priority = {v}", v=Var(2, "priority")),
        only=True,
    )
    updated = await db.execute(stmt)
    assert (updated["name"], updated["config"], updated["value"], updated["n"]) == (
        "renamed",
        {"m": 5, "k": "v"},
        9,
        3,
    )
    again = await db.execute(builder.update("item", U1, increment={"n": 4}, returning="DIFF"))
    assert again == [[{"op": "replace", "path": "/n", "value": 7}]]
    stale = builder.update("item", U1, set={"name": "x"}, where=sql("priority = {v}", v=Var(99, "priority")))
    assert await db.execute(stale) == []
    assert await db.execute(builder.update("item", U3, set={"name": "ghost"})) == []

    up = await db.execute(builder.upsert("item", U2, {"name": "two"}))
    assert (up["id"], up["name"], up["tags"]) == (RecordID("item", U2), "two", [])
    # replacing: DEFAULTs apply only on create, so omitted non-option fields are refused
    with pytest.raises(ValidationError):
        await db.execute(builder.upsert("item", U2, {"name": "two again"}))
    up = await db.execute(
        builder.upsert("item", U2, {"name": "two again", "priority": 4, "config": {}, "tags": [], "n": 0})
    )
    assert (up["name"], up["priority"]) == ("two again", 4)

    before = await db.execute(builder.delete("item", U2))
    assert [row["name"] for row in before] == ["two again"]
    assert await db.execute(builder.delete("item", U2)) == []
    gone = await db.execute(builder.delete("item", where=compile_filters({"name__isnull": True})))
    assert [row["id"].id for row in gone] == ["c"]


async def test_insert_and_count(bare_db: Database) -> None:
    db = await scratch(bare_db)
    rows = [{"id": RecordID("item", u), "name": f"n{i}", "priority": i} for i, u in enumerate((U1, U2, U3))]
    assert await db.execute(builder.insert("item", rows)) == []
    assert await db.execute(builder.count("item")) == [{"count": 7}]
    where = compile_filters({"name__startswith": "n", "priority__gte": 1})
    assert await db.execute(builder.count("item", where=where)) == [{"count": 2}]
    assert await db.execute(builder.count("item", where=compile_filters({"name": "zzz"}))) == [{"count": 0}]
    after = await db.execute(builder.insert("item", [{"name": "ret"}], returning="AFTER"))
    assert [r["name"] for r in after] == ["ret"]


async def test_select_projection_order_limit_start_group(bare_db: Database) -> None:
    db = await scratch(bare_db)
    await db.query("CREATE item:e CONTENT { name: 'beta', priority: 2, tags: ['y'] }")
    rows = await db.execute(
        builder.select("item", fields=["name", "priority"], order_by=["-name", "priority"])
    )
    assert [(r.get("name"), r.get("priority")) for r in rows] == [
        ("beta", 2),
        ("beta", 5),
        ("Gamma none", 10),
        ("Alpha", 1),
        (None, None),
    ]  # strings sort case-sensitively; NONE sorts first ascending, last descending
    page = await db.execute(
        builder.select("item", fields=["id", "priority"], order_by=["-priority", "id"], limit=2, start=1)
    )
    assert [r["id"].id for r in page] == ["b", "e"]
    groups = await db.execute(
        builder.select("item", fields=["name"], group_by=["name"], order_by=["name"], limit=10)
    )
    assert [g.get("name") for g in groups] == [None, "Alpha", "Gamma none", "beta"]
    one = await db.execute(builder.select("item", fields=["name"], group_all=True))
    assert len(one) == 1
    nested = await db.execute(
        builder.select("item", fields=["config.model", "value"], where=compile_filters({"value__gt": 0}))
    )
    assert sorted(r["value"] for r in nested) == [3, 7]
    assert {r["config"]["model"] for r in nested} == {"gpt-4", "claude"}


async def test_fetch_and_relate_unrelate(bare_db: Database) -> None:
    db = await scratch(bare_db)
    await db.execute(builder.create("item", U1, {"name": "i"}))
    await db.execute(builder.create("thing", U2, {"name": "t2"}))
    await db.execute(builder.create("thing", U3, {"name": "t3"}))

    edge = await db.execute(builder.relate("link", "item", U1, "thing", U2, {"weight": 1}))
    assert edge["in"] == RecordID("item", U1)
    assert edge["out"] == RecordID("thing", U2)
    assert edge["weight"] == 1
    assert edge["id"].id == [RecordID("item", U1), RecordID("thing", U2)]
    # deterministic id: relating the same pair again overwrites the one edge
    again = await db.execute(builder.relate("link", "item", U1, "thing", U2, {"weight": 5}))
    assert again["id"] == edge["id"]
    assert again["weight"] == 5
    await db.execute(builder.relate("link", "item", U1, "thing", U3))
    assert await db.execute(builder.count("link")) == [{"count": 2}]

    fetched = await db.query(
        "SELECT ->link->thing AS things FROM ONLY $id FETCH things", {"id": RecordID("item", U1)}
    )
    assert sorted(t["name"] for t in fetched[0]["things"]) == ["t2", "t3"]
    with_edges = await db.execute(
        builder.select("link", fields=["out", "weight"], where=compile_filters({"weight": 5}), fetch=["out"])
    )
    assert with_edges == [{"out": {"id": RecordID("thing", U2), "name": "t2"}, "weight": 5}]

    removed = await db.execute(builder.unrelate("link", "item", U1, "thing", U2))
    assert [r["out"] for r in removed] == [RecordID("thing", U2)]
    assert await db.execute(builder.unrelate("link", "item", U1, "thing", U2)) == []
    assert await db.execute(builder.count("link")) == [{"count": 1}]

    loose = await db.execute(builder.relate("link", "item", U1, "thing", U2, deterministic=False))
    assert loose["id"].id != [RecordID("item", U1), RecordID("thing", U2)]


# --------------------------------------------------------------------------- composition on the engine


async def test_composed_statements_each_read_their_own_id(bare_db: Database) -> None:
    db = await scratch(bare_db)
    await db.execute(builder.create("item", U1, {"name": "first"}))
    await db.execute(builder.create("item", U2, {"name": "second"}))
    a = builder.select("item", record=U1, only=True, fields=["name"])
    b = builder.select("item", record=U2, only=True, fields=["name"])
    c = Statement("RETURN [$id, '$id'] -- $id", {"id": "third"})
    assert a.vars.keys() == b.vars.keys() == c.vars.keys() == {"id"}

    composed = compose([a, b, c]).statement
    assert composed.text == (
        "SELECT name FROM ONLY $id;\nSELECT name FROM ONLY $id_1;\nRETURN [$id_2, '$id'] -- $id\n"
    )
    with db.count_requests() as counter:
        results = await db.execute_many([a, b, c])
    assert counter.count == 1
    assert results == [{"name": "first"}, {"name": "second"}, ["third", "$id"]]
    raw = await db.query(composed.text, composed.vars)
    assert raw == [{"name": "first"}, {"name": "second"}, ["third", "$id"]]


async def test_trailing_comments_do_not_shift_results(bare_db: Database) -> None:
    db = await scratch(bare_db)
    # CREATE … RETURN VALUE, not RETURN: a RETURN statement ends a transaction early
    first = Statement("CREATE ONLY item SET n = $x RETURN VALUE n; -- the first", {"x": 1})
    second = Statement("CREATE ONLY item SET n = $x RETURN VALUE n /* second */", {"x": 2})
    third = Statement("CREATE ONLY item SET n = $x RETURN VALUE n -- no semicolon after me", {"x": 3})
    fourth = Statement("CREATE ONLY item SET n = $x RETURN VALUE n", {"x": 4})
    assert await db.execute_many([first, second, third, fourth]) == [1, 2, 3, 4]
    assert await db.run_transaction([third, fourth]) == [3, 4]


async def test_block_statement_with_inner_semicolons_counts_once(bare_db: Database) -> None:
    db = await scratch(bare_db)
    block = Statement("{ LET $v = $x + 1; IF $v > 10 { THROW { kind: 'invalid' } }; RETURN $v }", {"x": 1})
    other = Statement("RETURN $x", {"x": 5})
    assert block.count == 1
    assert await db.execute_many([block, other]) == [2, 5]
    with pytest.raises(ValidationError):
        await db.execute_many([Statement(block.text, {"x": 50}), other])


# --------------------------------------------------------------------------- keyset cursors on the engine


async def test_keyset_pages_over_mixed_directions(bare_db: Database) -> None:
    db = await scratch(bare_db)
    await db.query(
        "FOR $i IN 0..25 { CREATE type::record('item', $i) "
        "CONTENT { name: 'k' + <string>($i % 4), priority: $i % 3 } }"
    )
    order = normalize_order(["-priority", "name", "id"])
    base = compile_filters({"name__startswith": "k"})
    sort = ["-priority", "name", "id"]
    expected = await db.execute(
        builder.select("item", fields=["id", "priority", "name"], where=base, order_by=sort)
    )
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(20):
        where = base
        if cursor is not None:
            cond = keyset_condition(order, decode_cursor(cursor, order))
            assert base is not None
            where = conjoin(base, cond)
        rows = await db.execute(
            builder.select(
                "item",
                fields=["id", "priority", "name"],
                where=where,
                order_by=sort,
                limit=4,
            )
        )
        if not rows:
            break
        seen += [r["id"] for r in rows]
        last = rows[-1]
        cursor = encode_cursor(order, [last["priority"], last["name"], last["id"]])
    assert seen == [r["id"] for r in expected]
    assert len(seen) == 25


async def test_cursor_keeps_engine_nanoseconds(bare_db: Database) -> None:
    db = await scratch(bare_db)
    row = await db.execute(
        builder.select("item", record=RecordID("item", "a"), only=True, fields=["at", "id"])
    )
    at = row["at"]
    assert isinstance(at, PreciseDatetime)
    order = [("at", False), ("id", False)]
    values = decode_cursor(encode_cursor(order, [at, row["id"]]), order)
    assert values[0] == at
    assert values[0].nanosecond == at.nanosecond
    same = await db.query(
        "SELECT VALUE id FROM item WHERE at = $at AND id = $id", {"at": values[0], "id": values[1]}
    )
    assert same == [[RecordID("item", "a")]]


# --------------------------------------------------------------------------- errors on the engine


async def test_engine_errors_are_redacted_and_mapped(bare_db: Database) -> None:
    db = await scratch(bare_db)
    secret = "it's `s3cr3t`, value"
    with pytest.raises(ValidationError) as info:
        await db.execute(builder.create("item", U1, {"name": [secret]}))
    assert "s3cr3t" not in str(info.value)
    assert "but found <redacted>" in str(info.value)

    with pytest.raises(ValidationError) as info:
        await db.execute(builder.update("item", RecordID("item", "a"), set={"priority": secret}))
    assert "s3cr3t" not in str(info.value)

    with pytest.raises(QueryError) as query_info:
        await db.execute(Statement("RETURN <int>$x", {"x": "no-int-s3cr3t"}))
    assert "s3cr3t" not in str(query_info.value)
    assert "using input <redacted>" in str(query_info.value)

    thrown = Statement(
        "{ LET $cur = 'running'; IF true { THROW { kind: 'conflict', from_status: $cur } } }", {}
    )
    with pytest.raises(ConflictError) as conflict:
        await db.execute(thrown)
    assert "from_status: 'running'" in str(conflict.value)
    assert "kind: 'conflict'" in str(conflict.value)

    with pytest.raises(NotFoundError) as nf:
        await db.execute(Statement("THROW { kind: 'not_found', id: $id }", {"id": "secret-id-value"}))
    assert "secret-id-value" not in str(nf.value)
    assert "kind: 'not_found'" in str(nf.value)

    with pytest.raises(QueryError) as free:
        await db.execute(Statement("THROW 'free text secret'"))
    assert "free text secret" not in str(free.value)


async def test_protected_params_refused_by_engine_and_by_us(bare_db: Database) -> None:
    with pytest.raises(ValidationError):
        await bare_db.query("RETURN $auth", {"auth": 1})  # our Statement refuses it first
    with pytest.raises(ValidationError):
        Statement("RETURN $value", {"value": 1})
    raw = await bare_db.client.query_raw("RETURN $auth", {"auth": 1})
    assert "protected variable" in raw["error"]["message"]


async def test_error_from_entry_on_live_engine_entries(bare_db: Database) -> None:
    """The entry shapes the unit tests copy are what the engine really returns."""
    db = await scratch(bare_db)
    await db.query(
        "DEFINE FIELD email ON item TYPE option<string>; DEFINE INDEX item_email ON item FIELDS email UNIQUE;"
    )
    await db.query("CREATE item:u1 SET email = 'bob@secret.example'")
    cases: list[tuple[str, dict[str, Any], type[Exception], str]] = [
        ("CREATE item:x SET priority = $v", {"v": "not-a-number"}, ValidationError, "not-a-number"),
        ("CREATE item:x SET junk = $v", {"v": "junk-value"}, ValidationError, "junk-value"),
        (
            "CREATE item:u2 SET email = $v",
            {"v": "bob@secret.example"},
            AlreadyExistsError,
            "bob@secret.example",
        ),
        ("CREATE item:a SET name = $v", {"v": "dup-name"}, AlreadyExistsError, "dup-name"),
        ("UPDATE item:a SET at = time::now() RETURN $v", {"v": "ro-value"}, ValidationError, "ro-value"),
        ("THROW { kind: 'not_found', id: $v }", {"v": "nf-secret"}, NotFoundError, "nf-secret"),
        ("THROW { kind: 'stale_version', v: $v }", {"v": "sv-secret"}, ConflictError, "sv-secret"),
        ("THROW { kind: 'cycle', path: [$v] }", {"v": "cy-secret"}, ValidationError, "cy-secret"),
        ("THROW { kind: 'exists', what: $v }", {"v": "ex-secret"}, AlreadyExistsError, "ex-secret"),
        ("SELECT * FROM nowhere WHERE x = $v", {"v": "tm-secret"}, QueryError, "tm-secret"),
    ]
    for text, vars, cls, secret in cases:
        raw = await db.client.query_raw(text, vars)
        entry = next(e for e in raw["result"] if e["status"] != "OK")
        err = error_from_entry(entry, vars=vars)
        assert type(err) is cls, (text, entry)
        assert secret not in str(err), text
