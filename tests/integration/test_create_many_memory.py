"""``create_many`` over a generator holds about one chunk in memory, whatever the total.

Two independent proofs against the real engine: the number of yielded models still
alive never exceeds a few chunks, and the Python heap peak (tracemalloc) for 5x more
rows is about the same. (The engine's own memory is Rust, not Python heap: mem://
keeps the rows, which is the database's job, not the client's.)
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Iterator

from agentical_repo import Repositories
from agentical_repo.models import Agent

CHUNK = 100


class Tracked:
    """A generator of agents that records how many it yielded are still alive at each step."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.alive = 0
        self.max_alive = 0
        self.yielded = 0

    def _gone(self) -> None:
        self.alive -= 1

    def __iter__(self) -> Iterator[Agent]:
        for i in range(self.n):
            agent = Agent(name=f"agent {i}", agent_type=f"type-{i % 7}", config={"i": i, "pad": "x" * 200})
            self.alive += 1
            weakref.finalize(agent, self._gone)
            self.max_alive = max(self.max_alive, self.alive)
            self.yielded += 1
            yield agent
            del agent


async def test_live_models_bounded_by_the_chunk(repos: Repositories) -> None:
    stream = Tracked(3_000)
    assert await repos.agents.create_many(iter(stream), chunk_size=CHUNK) == 3_000
    assert stream.yielded == 3_000
    assert await repos.agents.count() == 3_000
    # one chunk being built plus at most a couple in flight, never the whole stream
    assert stream.max_alive <= 3 * CHUNK + 1, stream.max_alive
    # the tracker itself is sound: materialising the stream keeps every model alive
    control = Tracked(1_000)
    everything = list(control)
    assert control.max_alive == len(everything) == 1_000


async def peak_for(repos: Repositories, n: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        created = await repos.agents.create_many(iter(Tracked(n)), chunk_size=CHUNK)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert created == n
    return peak


async def test_heap_peak_does_not_grow_with_the_total(repos: Repositories) -> None:
    small = await peak_for(repos, 2_000)
    large = await peak_for(repos, 10_000)
    # materialising the 10k models alone would take several MiB; streaming stays near the small run
    assert large < small * 1.5 + 256 * 1024, (small, large)
    assert large < 4 * 2**20, large
    assert await repos.agents.count() == 12_000
