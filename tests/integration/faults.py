"""Transport faults injected around a real connection (the engine itself is never replaced)."""

from __future__ import annotations

from typing import Any

import surrealdb


class LosesSecondAnswer:
    """Delegates to a real connection; the second request reaches the engine, its answer is lost."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    async def query_raw(self, text: str, vars: dict[str, Any] | None = None) -> Any:
        self.calls += 1
        answer = await self.real.query_raw(text, vars)
        if self.calls == 2:
            raise surrealdb.TransportError("connection reset by peer")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
