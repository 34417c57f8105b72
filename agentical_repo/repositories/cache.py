"""Opt-in read cache for ``get_by_id`` on read-mostly repositories (tools, playbooks).

Off by default: a cache trades freshness for speed, and only the application
knows whether that trade is right. Bounded in size and age (TTL); every write
through the repository evicts what it touched, and a transaction clears the
cache of each repository it wrote through once it commits. Writes made by other
processes are *not* seen until the TTL expires — that is the documented cost.
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

    def get(self, key: uuid.UUID) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key: uuid.UUID, value: Any) -> None:
        with self._lock:
            self._data[key] = value

    def pop(self, key: uuid.UUID) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
