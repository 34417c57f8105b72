"""``PYTHONPATH=tests python -m ws_bridge [options] [-- command ...]``.

Serves the bridge on 127.0.0.1. With a command after ``--``, runs it with
``AGENTICAL_TEST_DB_URL`` / ``AGENTICAL_TEST_DB_USER`` / ``AGENTICAL_TEST_DB_PASS``
pointing at the bridge, stops the bridge when it ends and exits with its status;
without one, serves until interrupted (``--port-file`` tells other processes the port).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

from agentical_repo.database import _settle_at_exit

from .bridge import DEFAULT_MAX_FRAME, LABEL, Bridge


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m ws_bridge", description=__doc__)
    parser.add_argument("--engine-url", default="mem://", help="embedded engine behind the bridge")
    parser.add_argument(
        "--durable",
        action="store_true",
        help="a surrealkv:// store in a temporary directory (removed at exit) instead of --engine-url; "
        "mem:// loses concurrent updates of one record (surrealdb#7473), surrealkv:// detects them",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the chosen port here once listening")
    parser.add_argument("--max-frame", type=int, default=DEFAULT_MAX_FRAME)
    return parser.parse_args(argv), command


async def run(args: argparse.Namespace, command: list[str]) -> int:
    with contextlib.ExitStack() as stack:
        if args.durable:
            store = stack.enter_context(tempfile.TemporaryDirectory(prefix="ws-bridge-"))
            args.engine_url = f"surrealkv://{store}/store"
        return await serve(args, command)


async def serve(args: argparse.Namespace, command: list[str]) -> int:
    async with Bridge(args.engine_url, port=args.port, max_frame=args.max_frame) as bridge:
        print(f"ws bridge: {bridge.url} ({LABEL}, engine {args.engine_url})", file=sys.stderr, flush=True)
        if args.port_file:
            args.port_file.write_text(str(bridge.port))
        if not command:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            return 0
        env = {
            **os.environ,
            "AGENTICAL_TEST_DB_URL": bridge.url,
            "AGENTICAL_TEST_DB_USER": bridge.root_user,
            "AGENTICAL_TEST_DB_PASS": bridge.root_password,
        }
        child = await asyncio.create_subprocess_exec(*command, env=env)
        try:
            return await child.wait()
        finally:
            if child.returncode is None:
                child.terminate()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(child.wait(), 10)


def main() -> None:
    args, command = parse(sys.argv[1:])
    status = asyncio.run(run(args, command))
    # The bridge drives the engine directly (not through Database), so it applies the
    # library's exit barrier itself: wait until no engine worker thread is inside Python
    # before the interpreter finalizes (see agentical_repo.database).
    _settle_at_exit()
    sys.exit(status)


if __name__ == "__main__":
    main()
