"""Golden text of ``surql.queries.messages``: exact SurrealQL and vars, no I/O."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.queries import messages

from ._golden import check

CONVERSATION = uuid.UUID("6f1c2b1e-0000-4000-8000-00000000c0c0")
AUTHOR = RecordID("user", uuid.UUID("6f1c2b1e-0000-4000-8000-0000000005e7"))


def test_context_window_is_newest_first_with_an_id_tie_break() -> None:
    check(
        messages.context_window(CONVERSATION, 4242),
        "SELECT * FROM message WHERE conversation_id = $conversation_id "
        "ORDER BY created_at DESC, id DESC LIMIT $limit",
        {"conversation_id": CONVERSATION, "limit": 4242},
        operation="SELECT",
        table="message",
    )


def test_search_binds_the_query_and_orders_by_score() -> None:
    check(
        messages.search("secret words", 4242),
        "SELECT *, search::score(1) AS score FROM message WHERE content @1@ $query "
        "ORDER BY score DESC, created_at DESC, id ASC LIMIT $limit",
        {"query": "secret words", "limit": 4242},
        operation="SELECT",
        table="message",
    )


def test_search_scoped_to_a_conversation_and_an_author_with_highlights() -> None:
    check(
        messages.search(
            "secret words",
            4242,
            conversation=CONVERSATION,
            author=AUTHOR,
            highlight=("<secret-start>", "<secret-end>"),
        ),
        "SELECT *, search::score(1) AS score, search::highlight($hl_start, $hl_end, 1) AS highlight "
        "FROM message WHERE content @1@ $query AND conversation_id = $conversation_id "
        "AND user_id = $user_id ORDER BY score DESC, created_at DESC, id ASC LIMIT $limit",
        {
            "hl_start": "<secret-start>",
            "hl_end": "<secret-end>",
            "query": "secret words",
            "conversation_id": CONVERSATION,
            "user_id": AUTHOR,
            "limit": 4242,
        },
        operation="SELECT",
        table="message",
    )
