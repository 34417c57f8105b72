"""``surql.queries.access``: the record-access sign-in request, no I/O."""

from __future__ import annotations

import pytest

from agentical_repo.errors import ValidationError
from agentical_repo.surql.queries import access


def test_signin_request_names_the_variables_the_schema_signin_reads() -> None:
    assert access.signin_request("ns", "db", "a@example.org", "secret-password") == {
        "namespace": "ns",
        "database": "db",
        "access": "user_access",
        "variables": {"email": "a@example.org", "password": "secret-password"},
    }


def test_signin_request_for_another_access_method() -> None:
    assert access.signin_request("ns", "db", "e", "p", access="staff")["access"] == "staff"


@pytest.mark.parametrize("name", ["user-access", "user_access\n", "", "1x"])
def test_the_access_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(ValidationError):
        access.signin_request("ns", "db", "e", "p", access=name)


def test_the_default_matches_the_packaged_schema() -> None:
    from agentical_repo.migrations import schema_dir

    text = (schema_dir() / "0007_end_user_access.surql").read_text(encoding="utf-8")
    assert f"DEFINE ACCESS OVERWRITE {access.DEFAULT_ACCESS} ON DATABASE TYPE RECORD" in text
    assert "$email" in text
    assert "$password" in text
    assert f"THROW '{access.SESSION_ENDED}'" in text


def test_current_auth_reads_the_signed_in_record() -> None:
    statement = access.current_auth()
    assert statement.text == "RETURN $auth"
    assert statement.vars == {}
    assert statement.operation == "SELECT"


def test_signin_and_authenticate_compare_against_the_same_dummy_hash() -> None:
    """An unknown email costs one argon2 compare in both paths, with the same parameters."""
    from agentical_repo.migrations import schema_dir
    from agentical_repo.repositories.users import _DUMMY_HASH

    text = (schema_dir() / "0007_end_user_access.surql").read_text(encoding="utf-8")
    assert f"'{_DUMMY_HASH}'" in text
