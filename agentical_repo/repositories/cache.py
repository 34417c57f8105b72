"""Opt-in read cache for ``get_by_id`` on read-mostly repositories (tools, playbooks).

Off by default: a cache trades freshness for speed, and only the application
knows whether that trade is right. Bounded in size and age (TTL); every write
through the repository evicts what it touched, and a transaction clears the
cache of each repository it wrote through once it commits. Writes made by other
processes are *not* seen until the TTL expires — that is the documented cost.

Two details keep it correct rather than merely fast:

* an *epoch* counter moves on every eviction, and a value read from the database
  is stored only if no eviction happened while it was being read — otherwise a
  ``get_by_id`` racing an ``update`` could put the pre-update row back into the
  cache for a whole TTL;
* models are mutable, so the cache keeps its own copy and hands out copies: a
  caller changing the model it got cannot change what the next caller gets.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["CacheConfig", "ReadCache"]


@dataclass(frozen=True)
class CacheConfig:
    """``maxsize`` entries per repository, each kept for at most ``ttl`` seconds."""

    maxsize: int = 1024
    ttl: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.maxsize, bool) or not isinstance(self.maxsize, int) or self.maxsize < 1:
            from ..errors import ValidationError

            raise ValidationError("cache maxsize must be a positive integer", context={"argument": "maxsize"})
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int | float) or not self.ttl > 0:
            from ..errors import ValidationError

            raise ValidationError(
                "cache ttl must be a positive number of seconds", context={"argument": "ttl"}
            )


def _copy(value: Any) -> Any:
    copy = getattr(value, "model_copy", None)
    return copy(deep=True) if copy is not None else value


class ReadCache:
    """A TTL + size bounded map from id to model, with hit/miss counters."""

    def __init__(self, config: CacheConfig | None = None) -> None:
        try:
            from cachetools import TTLCache
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("the read cache needs cachetools: pip install agentical-repo[cache]") from exc
        self.config = config or CacheConfig()
        self._data: TTLCache[uuid.UUID, Any] = TTLCache(maxsize=self.config.maxsize, ttl=self.config.ttl)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.epoch = 0

    def get(self, key: uuid.UUID) -> Any | None:
        """A copy of the cached value, or ``None`` (counted as a hit or a miss)."""
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
        return _copy(value)

    def put(self, key: uuid.UUID, value: Any, *, epoch: int | None = None) -> bool:
        """Store a copy of ``value``; with ``epoch`` (read before the database read), only if
        nothing was evicted since. Returns whether it was stored."""
        stored = _copy(value)
        with self._lock:
            if epoch is not None and epoch != self.epoch:
                return False
            self._data[key] = stored
            return True

    def pop(self, key: uuid.UUID) -> None:
        with self._lock:
            self.epoch += 1
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.epoch += 1
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data
