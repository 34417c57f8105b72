"""`make fastapi-example` serves the example app: start it the same way, call it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_example_app_serves_over_http() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_")}
    uvicorn = Path(sys.executable).with_name("uvicorn")
    server = subprocess.Popen(
        [str(uvicorn), "examples.fastapi_app:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/agents", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        made = httpx.post(f"{base}/agents", json={"name": "planner", "agent_type": "llm"}, timeout=10)
        assert made.status_code == 201
        agent_id = made.json()["id"]
        assert httpx.get(f"{base}/agents/{agent_id}", timeout=10).json()["name"] == "planner"
        listed = httpx.get(f"{base}/agents", params={"total": "true"}, timeout=10).json()
        assert listed["total"] == 1
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=60)
    assert "Application startup complete" in out
    assert "Application shutdown complete" in out, out
