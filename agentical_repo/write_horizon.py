"""The start time of the oldest write this process may still be committing.

Why: a change feed orders commits by a versionstamp the engine takes while it
commits, so a slow commit can become visible after a later commit with a higher
stamp. A feed reader that moved its cursor past the later stamp would never see the
slow one. A reader that never moves past the start of any write still in flight
cannot be overtaken by those writes: their stamps are taken after they start.

``Database`` records every request that may write (``begin`` before sending,
``end`` once the engine has answered). A request whose fate is unknown (it timed
out, or the connection failed after sending) may still be committing in the engine,
so it is ``hold``-ed: it keeps the horizon back for a further ``query_timeout``.

This covers every writer of an embedded engine (one process owns the store). Writers
in other processes of a server are not visible here; the feed reader's ``settle``
delay covers them (``agentical_repo.changes``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

__all__ = ["WriteHorizon"]


class WriteHorizon:
    """Wall-clock start times (``time.time()`` seconds) of the writes that may be in flight."""

    __slots__ = ("_clock", "_held", "_ids", "_open")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._ids = itertools.count()
        self._open: dict[int, float] = {}
        self._held: dict[int, tuple[float, float]] = {}  # token -> (started, held until)

    def begin(self) -> int:
        """Record a write about to be sent; the token ends or holds it."""
        token = next(self._ids)
        self._open[token] = self._clock()
        return token

    def end(self, token: int) -> None:
        """The engine answered: the write committed or failed, and is visible either way."""
        self._open.pop(token, None)

    def hold(self, token: int, seconds: float) -> None:
        """The write's fate is unknown: keep it in the horizon for ``seconds`` more."""
        started = self._open.pop(token, None)
        if started is not None:
            self._held[token] = (started, self._clock() + seconds)

    def oldest(self) -> float | None:
        """The start of the oldest write in flight or held, or None when there is none."""
        now = self._clock()
        for token in [t for t, (_, until) in self._held.items() if until <= now]:
            del self._held[token]
        starts = [*self._open.values(), *(started for started, _ in self._held.values())]
        return min(starts) if starts else None

    def __len__(self) -> int:
        """Writes in flight or held."""
        self.oldest()
        return len(self._open) + len(self._held)
