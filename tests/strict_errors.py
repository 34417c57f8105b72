"""Strict assertions on argument errors, for the boundary and mutation tests.

``names_argument`` in ``tests/integration/test_bad_input.py`` accepts the argument's
name in the message *or* the context; these helpers require the exact
``context["argument"]``, so a broken context cannot pass unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentical_repo import AgenticalError, ValidationError


def assert_argument(err: AgenticalError, argument: str) -> None:
    """``err`` names ``argument`` in its context, exactly."""
    assert isinstance(err, ValidationError), type(err)
    assert err.context.get("argument") == argument, (err.message, err.context)


def refuses(call: Callable[[], Any], argument: str, message: str | None = None) -> ValidationError:
    """``call()`` raises ValidationError with ``context["argument"] == argument`` (and ``message``)."""
    with pytest.raises(ValidationError) as info:
        call()
    assert_argument(info.value, argument)
    if message is not None:
        assert info.value.message == message
    return info.value
