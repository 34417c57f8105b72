"""Every ```python block in README.md and docs/**/*.md runs as written.

Each block is a complete program (``async def main(): ...`` + ``asyncio.run(main())``
on ``mem://``). It runs in a fresh interpreter, from a scratch directory, with no
``AGENTICAL_*`` variables inherited, so a block can rely only on what it shows. The
test id names the file and the block's index and line, so a failure points at the block.

Only ``python`` fences are executed. Code must not hide behind another fence language:
``pycon``/``py``/``python3`` fences are refused; ``text`` is for output and signatures
that are not code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "__agentical_docs_block_finished__"
TIMEOUT_S = 180
# Fence languages a page may use. Anything else (py, pycon, python3, ...) would either hide
# Python from this test or be a typo.
ALLOWED_LANGUAGES = {"python", "bash", "text", "sql", "json", "toml", "yaml"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    index: int  # 0-based among the file's python blocks
    line: int  # 1-based line of the opening fence
    language: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}#{self.index}@L{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file (indented fences, e.g. in admonitions, included)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    python_index = 0
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        language = m["info"].strip().split(" ")[0].split("{")[0].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        if j == len(lines):
            raise AssertionError(f"{path}:{i + 1}: fence never closed")
        index = python_index if language == "python" else -1
        blocks.append(Block(path, index, i + 1, language, "\n".join(body) + "\n"))
        if language == "python":
            python_index += 1
        i = j + 1
    return blocks


def python_blocks() -> list[Block]:
    return [b for path in doc_files() for b in fenced_blocks(path) if b.language == "python"]


BLOCKS = python_blocks()


def test_blocks_found() -> None:
    assert any(b.path.name == "README.md" for b in BLOCKS), "README.md has no python block"
    assert any(b.path.parent.name == "docs" for b in BLOCKS), "docs/ has no python block"


def test_readme_is_a_front_door() -> None:
    """The README stays short; the manual lives in docs/ (benchmark numbers in docs/performance.md)."""
    size = len((ROOT / "README.md").read_bytes())
    assert size <= 15 * 1024, f"README.md is {size} bytes; move detail into docs/"


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_fence_languages(path: Path) -> None:
    """No unlabelled fences and no fence language that would keep code out of this test."""
    blocks = fenced_blocks(path)
    bad = [(b.line, b.language or "<none>") for b in blocks if b.language not in ALLOWED_LANGUAGES]
    assert not bad, f"{path.name}: fence languages not allowed (line, language): {bad}"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_")}
    env["PYTHONPATH"] = str(ROOT)  # the checkout, even if the block runs elsewhere
    return env


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    # The sentinel is printed (and flushed) only if the block ran to its end without raising.
    script.write_text(f"{block.code}\nprint({SENTINEL!r}, flush=True)\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    finished = SENTINEL in proc.stdout
    # No tolerance for an abort at interpreter exit: the library's exit barrier
    # (``Database.close`` and its atexit hook) lets every block end with its own code.
    assert proc.returncode == 0, (
        f"{block.id} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    assert finished, f"{block.id} exited 0 without finishing?\n{proc.stdout[-2000:]}"
