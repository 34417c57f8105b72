"""A loopback WebSocket bridge in front of the SDK's embedded engine (tests only).

No SurrealDB server can be obtained on the machines this project is tested on, yet a
deployed platform talks to one over ``ws://``. The SDK's WebSocket client and the
embedded engine speak the same CBOR RPC frames, so a WebSocket server on 127.0.0.1
(subprotocol ``cbor``) that hands every binary frame to the engine's RPC entry point
(``AsyncEmbeddedDB.execute``) runs the SDK's real ws client — connect, signin, use,
query, reconnect, socket faults — against a real engine. Its results are those of an
*embedded engine behind a loopback bridge*, never of a server: the engine's RPC layer
is the embedded one (no live queries, no client-side ``begin``/``commit``, no
``query_stream``), and the bridge is Python.

What makes it behave like ``surreal start --user root --pass root``:

* one engine session per socket: each accepted socket gets a fresh session from the
  engine's ``attach`` RPC, which is anonymous with authentication enforced, and the
  bridge writes that session's id into every request it forwards (a client can never
  reach the embedded engine's own, all-powerful default session);
* a ``root`` user defined once, through the engine's owner session
  (``DEFINE USER root ON ROOT PASSWORD 'root' ROLES OWNER``);
* sessions a client attaches itself are mapped to fresh engine sessions of its socket,
  and every session of a socket is detached when the socket goes;
* frames are bounded (``max_frame`` bytes; a larger one closes the socket with 1009,
  as a server does).

Fault injection (``bridge.faults.add(...)``) acts on the next matching request frame:
drop the socket before forwarding, drop it after the engine has answered (the reply
is lost, the write applied), never answer (with or without forwarding), or answer
slowly.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from surrealdb.cbor import dumps, loads
from surrealdb_embedded import AsyncEmbeddedDB
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from agentical_repo.database import _engine_settled

__all__ = [
    "LABEL",
    "Bridge",
    "BridgeStats",
    "Fault",
    "FaultKind",
    "Faults",
    "replace_session",
    "with_session",
]

#: How every result obtained through the bridge is to be described.
LABEL = "embedded engine behind a loopback bridge"

#: Default bound on one incoming frame (bytes).
DEFAULT_MAX_FRAME = 16 * 1024 * 1024

FaultKind = Literal["drop", "drop_after", "hang", "hang_after", "slow"]

#: RPC methods the bridge answers itself with an error instead of forwarding: ``sessions``
#: would list every socket's engine session, which a server never shows a client.
REFUSED_METHODS = frozenset({"sessions"})


@dataclass
class Fault:
    """One injected fault, armed for ``times`` matching request frames.

    * ``drop``: abort the TCP connection on receipt; the engine never sees the request.
    * ``drop_after``: forward, wait for the engine's answer, then abort instead of
      replying (the request was applied; its answer is lost).
    * ``hang``: swallow the request: never forwarded, never answered.
    * ``hang_after``: forward (the engine applies it) and never answer.
    * ``slow``: forward, then reply after ``delay`` seconds.

    ``method`` restricts the fault to one RPC method (``None``: any); ``contains`` to
    ``query`` requests whose SurrealQL text contains it.
    """

    kind: FaultKind
    method: str | None = "query"
    contains: str | None = None
    times: int = 1
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, text: str | None) -> bool:
        if self.times <= 0:
            return False
        if self.method is not None and method != self.method:
            return False
        return self.contains is None or (text is not None and self.contains in text)


@dataclass
class Faults:
    """The faults armed on a bridge; the first matching one fires (and is used up)."""

    armed: list[Fault] = field(default_factory=list)

    def add(
        self,
        kind: FaultKind,
        *,
        method: str | None = "query",
        contains: str | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        fault = Fault(kind, method=method, contains=contains, times=times, delay=delay)
        self.armed.append(fault)
        return fault

    def clear(self) -> None:
        self.armed.clear()

    def take(self, method: str, text: str | None) -> Fault | None:
        for fault in self.armed:
            if fault.matches(method, text):
                fault.times -= 1
                fault.hits += 1
                return fault
        return None


@dataclass
class BridgeStats:
    sockets_opened: int = 0
    sockets_open: int = 0
    frames_in: int = 0
    frames_out: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    #: query frames received per socket, by the socket's number (1, 2, ... in accept order)
    queries_by_socket: dict[int, int] = field(default_factory=dict)


class Bridge:
    """``async with Bridge() as bridge:`` serves ``bridge.url`` (``ws://127.0.0.1:<port>/rpc``)."""

    def __init__(
        self,
        engine_url: str = "mem://",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_frame: int = DEFAULT_MAX_FRAME,
        root_user: str = "root",
        root_password: str = "root",
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the bridge serves loopback only")
        self.engine_url = engine_url
        self.host = host
        self.port = port
        self.max_frame = max_frame
        self.root_user = root_user
        self.root_password = root_password
        self.faults = Faults()
        self.stats = BridgeStats()
        self._engine: AsyncEmbeddedDB | None = None
        self._server: Server | None = None
        self._sockets: set[ServerConnection] = set()
        self._numbers: dict[ServerConnection, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/rpc"

    async def __aenter__(self) -> Bridge:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        engine = AsyncEmbeddedDB(self.engine_url)
        await engine.connect()
        self._engine = engine
        # the engine's default session is its owner: used once, to define the root user
        if not self.root_user.isidentifier() or "'" in self.root_password:
            raise ValueError("root_user must be an identifier and root_password must not contain '")
        reply = await self._call(
            None,
            "query",
            [
                f"DEFINE USER IF NOT EXISTS {self.root_user} ON ROOT "
                f"PASSWORD '{self.root_password}' ROLES OWNER",
                {},
            ],
        )
        statuses = [r.get("status") for r in reply.get("result") or []]
        if statuses != ["OK"]:
            raise RuntimeError(f"could not define the root user: {reply}")
        self._server = await serve(
            self._serve,
            self.host,
            self.port,
            subprotocols=[Subprotocol("cbor")],
            max_size=self.max_frame,
            compression=None,
            ping_interval=None,
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for ws in list(self._sockets):
                _abort(ws)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._engine is not None:
            with contextlib.suppress(Exception):
                await self._engine.close()
            self._engine = None
            # the engine's native threads must leave Python before the process may end
            await _engine_settled()

    async def drop_all(self) -> int:
        """Abort every open socket (a server restart without losing data); return how many."""
        sockets = list(self._sockets)
        for ws in sockets:
            _abort(ws)
        return len(sockets)

    def drop(self, number: int) -> bool:
        """Abort the socket accepted as number ``number`` (1 = the first); False if it is gone."""
        for ws, n in list(self._numbers.items()):
            if n == number:
                _abort(ws)
                return True
        return False

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    # ------------------------------------------------------------------ engine access

    async def _call(self, session: str | None, method: str, params: Sequence[Any] | None = None) -> Any:
        """One RPC on the engine from the bridge itself (``session`` None: the owner session)."""
        assert self._engine is not None
        frame: dict[str, Any] = {"id": uuid.uuid4().hex, "method": method}
        if params is not None:
            frame["params"] = list(params)
        if session is not None:
            frame["session"] = session
        return loads(await self._engine.execute(dumps(frame)))

    async def _attach(self) -> str:
        session = str(uuid.uuid4())
        reply = await self._call(session, "attach")
        if reply.get("error"):
            raise RuntimeError(f"the engine refused attach: {reply['error']}")
        return session

    # ------------------------------------------------------------------ one socket

    async def _serve(self, ws: ServerConnection) -> None:
        self.stats.sockets_opened += 1
        number = self.stats.sockets_opened
        self._sockets.add(ws)
        self._numbers[ws] = number
        self.stats.sockets_open = len(self._sockets)
        own = await self._attach()
        #: sessions the client attached itself -> the engine sessions standing in for them
        mapped: dict[str, str] = {}
        try:
            async for frame in ws:
                if isinstance(frame, str):
                    await ws.close(1003, "binary CBOR frames only")
                    return
                self.stats.frames_in += 1
                task = asyncio.create_task(self._handle(ws, frame, own, mapped, number))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            self._sockets.discard(ws)
            self._numbers.pop(ws, None)
            self.stats.sockets_open = len(self._sockets)
            for session in (own, *mapped.values()):
                with contextlib.suppress(Exception):
                    await self._call(session, "detach")

    async def _handle(
        self, ws: ServerConnection, frame: bytes, own: str, mapped: dict[str, str], number: int
    ) -> None:
        assert self._engine is not None
        try:
            request = loads(frame)
            method = str(request.get("method", ""))
            request_id = request.get("id")
        except Exception:
            await self._reply(ws, dumps({"error": {"code": -32700, "message": "Parse error"}}))
            return
        self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
        if method == "query":
            self.stats.queries_by_socket[number] = self.stats.queries_by_socket.get(number, 0) + 1
        if method in REFUSED_METHODS:
            error = {"code": -32602, "kind": "NotAllowed", "message": "Method not allowed"}
            await self._reply(ws, dumps({"id": request_id, "error": error}))
            return
        client_session = request.get("session")
        if client_session is None:
            forward = with_session(frame, own)
        else:
            key = str(client_session)
            if method == "attach":
                mapped[key] = str(uuid.uuid4())
            # an unknown session id becomes one the engine has never seen: "session not found"
            engine_session = mapped.get(key, str(uuid.uuid5(uuid.NAMESPACE_OID, own + key)))
            forward = replace_session(frame, client_session, engine_session)
            if method == "detach":
                mapped.pop(key, None)
        params = request.get("params")
        text = params[0] if method == "query" and isinstance(params, list) and params else None
        fault = self.faults.take(method, text if isinstance(text, str) else None)
        if fault is not None and fault.kind == "drop":
            _abort(ws)
            return
        if fault is not None and fault.kind == "hang":
            return
        reply = await self._engine.execute(forward)
        if fault is not None:
            if fault.kind == "drop_after":
                _abort(ws)
                return
            if fault.kind == "hang_after":
                return
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
        await self._reply(ws, reply)

    async def _reply(self, ws: ServerConnection, data: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(data)
            self.stats.frames_out += 1


# ---------------------------------------------------------------------- frame surgery
#
# The request is decoded only to be inspected and forwarded as the client's own bytes
# plus the session: the SDK's decoder maps CBOR null and SurrealDB's NONE (tag 6) both
# to None, and its encoder writes None as NONE, so a decode/encode round trip would
# turn every null the client sent into NONE (and a key holding it would vanish).

_SESSION_KEY = dumps("session")


def _map_header(frame: bytes) -> tuple[int | None, int]:
    """(entries, header length) of the top-level CBOR map; entries None if indefinite."""
    if not frame or frame[0] >> 5 != 5:
        raise ValueError("a request frame must be a CBOR map")
    info = frame[0] & 0x1F
    if info < 24:
        return info, 1
    if info == 31:
        return None, 1
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if width is None:
        raise ValueError("malformed CBOR map header")
    return int.from_bytes(frame[1 : 1 + width], "big"), 1 + width


def _encode_map_header(entries: int) -> bytes:
    if entries < 24:
        return bytes([0xA0 | entries])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if entries < 1 << (8 * width):
            return bytes([0xA0 | info]) + entries.to_bytes(width, "big")
    raise ValueError("map too large")


def with_session(frame: bytes, session: str) -> bytes:
    """``frame`` (a map without a ``session`` key) with ``session: <session>`` added."""
    entries, header = _map_header(frame)
    pair = _SESSION_KEY + dumps(session)
    if entries is None:  # indefinite-length map: insert before the break byte
        return frame[:-1] + pair + frame[-1:]
    return _encode_map_header(entries + 1) + frame[header:] + pair


def replace_session(frame: bytes, old: object, new: str) -> bytes:
    """``frame`` with the value of its ``session`` key replaced (the SDK appends it after params)."""
    old_pair = _SESSION_KEY + dumps(str(old))
    at = frame.rfind(old_pair)
    if at < 0:
        raise ValueError("session key not found in the frame")
    return frame[:at] + _SESSION_KEY + dumps(new) + frame[at + len(old_pair) :]


def _abort(ws: ServerConnection) -> None:
    """Drop the TCP connection without a closing handshake (what a crash or a cut cable does)."""
    transport = ws.transport
    if transport is not None:
        transport.abort()
