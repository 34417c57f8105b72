"""Edges of ``surql.lexer`` found by mutation testing: exact segments of strings and
comments (empty, escaped, unterminated, nested markers), statement counts with
brackets, and which texts end in a line comment."""

from __future__ import annotations

import pytest

from agentical_repo.surql.lexer import count_statements, ends_in_line_comment, segments, statement_keywords


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("'a'", [(False, "'a'")]),
        ("'' ; x", [(False, "''"), (True, " ; x")]),
        ("x'a'y", [(True, "x"), (False, "'a'"), (True, "y")]),
        ("'abc", [(False, "'abc")]),  # unterminated: the string runs to the end
        ("'\\'' $a", [(False, "'\\''"), (True, " $a")]),  # an escaped quote stays inside
        ("⟨a b⟩ c", [(False, "⟨a b⟩"), (True, " c")]),
        ("-- c\nx", [(False, "-- c"), (True, "\nx")]),
        ("x # c", [(True, "x "), (False, "# c")]),
        ("x // c", [(True, "x "), (False, "// c")]),
        ("/**/ x", [(False, "/**/"), (True, " x")]),
        ("/* a */ b /* c */", [(False, "/* a */"), (True, " b "), (False, "/* c */")]),
        ("a*/* b */", [(True, "a*"), (False, "/* b */")]),
        ("/* abc", [(False, "/* abc")]),  # unterminated: the comment runs to the end
        ("", []),
    ],
)
def test_segments_are_exact(text: str, pieces: list[tuple[bool, str]]) -> None:
    assert list(segments(text)) == pieces


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("SELECT X; SELECT 1", 2),
        ("SELECT (1); SELECT 2", 2),
        ("{}", 1),
        ("()", 1),
        ("{ a; b }; c", 2),
        ("[1, (2)]; x; ", 2),
        ("; ;", 0),
    ],
)
def test_count_statements_with_brackets(text: str, n: int) -> None:
    assert count_statements(text) == n


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("x", False),
        ("x -- c", True),
        ("x // c", True),
        ("x # c", True),
        ("x /* c */", False),
        ("x -- c\ny", False),
        ("x 'a -- b'", False),
    ],
)
def test_ends_in_line_comment(text: str, expected: bool) -> None:
    assert ends_in_line_comment(text) is expected


def returns(text: str) -> list[int]:
    return list(statement_keywords(text, "RETURN"))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (";-- c\nRETURN 1", [6]),  # a comment between ";" and the keyword is skipped
        (";// c\nRETURN 1", [6]),
        (";# c\nRETURN 1", [5]),
        (";/* c */RETURN 1", [8]),
        ("RETURN 'x'; y", [0]),  # a string after the keyword ends the candidate once
        ("'a' RETURN 1", []),  # after a string, a keyword is not a statement
        ("SELECT 'x'; SELECT 'y'; RETURN 1", [24]),  # offsets add up over every chunk
    ],
)
def test_statement_keywords_across_strings_and_comments(text: str, found: list[int]) -> None:
    assert returns(text) == found
