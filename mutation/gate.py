"""Mutation-testing gate: run mutmut over the core modules and hold each to the threshold.

    python mutation/gate.py                      # every mutant of every group (make mutation)
    python mutation/gate.py --sample 240         # a fixed, seeded sample (CI)
    python mutation/gate.py --group surql        # one group of mutation/modules.toml
    python mutation/gate.py --report             # re-score the last run, run nothing
    python mutation/gate.py --resume             # re-run the last run's survivors (tests changed)

Each group of ``mutation/modules.toml`` is mutated in its own copy of the tree,
``mutants/<group>/`` (git-ignored): the copy holds the package, the tests, the
schema and a ``pyproject.toml`` whose ``[tool.mutmut]`` table names that group's
modules and tests. mutmut itself writes its mutated package one level further
down (``mutants/<group>/mutants/``), so the working tree's sources are never
edited. Survivors listed in ``mutation/equivalents.toml`` (mutant name, mutated
line, reason) do not count; a listed mutant whose line changed is stale and counts
as a survivor. A full run writes the scores to ``mutation/scores.toml``.

Exit status: 0 when every module (full run) or the whole sample (``--sample``)
kills at least ``threshold`` of its non-equivalent mutants, 1 otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutation"
WORK = ROOT / "mutants"
COPIED = ("agentical_repo", "tests", "schema")
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}

# mutmut's exit-code verdicts (mutmut.stats.status_by_exit_code, 3.8): a timeout or a
# type-check failure is a detected mutant; "no tests" is not.
KILLED = {1, 3, 36, 37, -24, 24, 152, 255}
SURVIVED = {0, 5, 33}
SKIPPED = {34}


@dataclass
class Module:
    path: str
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    unchecked: int = 0

    @property
    def scored(self) -> int:
        return self.killed + len(self.survived)

    @property
    def score(self) -> float:
        return self.killed / self.scored if self.scored else 1.0


def load_config() -> dict[str, object]:
    return tomllib.loads((HERE / "modules.toml").read_text())


def load_equivalents() -> dict[str, tuple[str, str]]:
    """mutant name -> (mutated line, reason)."""
    data = tomllib.loads((HERE / "equivalents.toml").read_text())
    return {e["mutant"]: (e["line"].strip(), e["reason"]) for e in data.get("equivalent", [])}


def mutmut_table(base: dict[str, object], modules: list[str], tests: list[str]) -> str:
    table = dict(base)
    table["only_mutate"] = modules
    table["pytest_add_cli_args_test_selection"] = tests
    lines = ["[tool.mutmut]"]
    for key, value in table.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def prepare(group: dict[str, object], *, resume: bool = False) -> Path:
    """A fresh copy of the tree for ``group`` with its own ``[tool.mutmut]`` table.

    ``resume`` keeps the copy and mutmut's results, refreshing only the tests and
    the configuration (for re-running the survivors after tests were added).
    """
    work = WORK / str(group["name"])
    if not resume:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("tests",) if resume else COPIED:
        shutil.copytree(
            ROOT / name, work / name, ignore=shutil.ignore_patterns(*SKIP_DIRS), dirs_exist_ok=True
        )
    text = (ROOT / "pyproject.toml").read_text()
    base = tomllib.loads(text)["tool"]["mutmut"]
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    tests = sorted({t for p in group["tests"] for t in ([p] if "::" in p else glob.glob(p, root_dir=ROOT))})  # type: ignore[attr-defined]
    (work / "pyproject.toml").write_text(text.rstrip() + "\n\n" + mutmut_table(base, group["modules"], tests))  # type: ignore[arg-type]
    return work


def mutmut(work: Path, *args: str, log: Path | None = None) -> int:
    env = dict(os.environ, AGENTICAL_TEST_SOFT_EXIT="1", PYTHONDONTWRITEBYTECODE="1")
    exe = Path(sys.executable).parent / "mutmut"
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.call(  # noqa: S603
            [str(exe), *args], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


GENERATE = """
import os
from mutmut.__main__ import set_mutant_under_test, makedirs, Path, copy_src_dir, copy_also_copy_files, \
    setup_source_paths, create_mutants
set_mutant_under_test("mutant_generation")
makedirs(Path("mutants"), exist_ok=True)
copy_src_dir(); copy_also_copy_files(); setup_source_paths()
create_mutants(os.cpu_count() or 2)
"""


def generate(work: Path) -> None:
    """Write the mutants (no test run), so a sample can be drawn from their names."""
    subprocess.run([sys.executable, "-c", GENERATE], cwd=work, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def verdicts(work: Path, modules: list[str]) -> dict[str, dict[str, int | None]]:
    """module path -> {mutant name: exit code (None = not run)}."""
    out: dict[str, dict[str, int | None]] = {}
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        path = meta.relative_to(work / "mutants").as_posix()[: -len(".meta")]
        if any(fnmatch.fnmatch(path, m) for m in modules):
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            if codes:
                out[path] = codes
    return out


def mutated_line(work: Path, name: str) -> str:
    """The '+' line of ``mutmut show`` (what the mutant wrote), for matching equivalents."""
    env = dict(os.environ, AGENTICAL_TEST_SOFT_EXIT="1")
    exe = Path(sys.executable).parent / "mutmut"
    shown = subprocess.run([str(exe), "show", name], cwd=work, env=env, capture_output=True, text=True)  # noqa: S603
    diff = shown.stdout
    added = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return " | ".join(added)


def score(
    work: Path, group: dict[str, object], only: set[str] | None, equivalents: dict[str, tuple[str, str]]
) -> list[Module]:
    result = []
    for path, codes in verdicts(work, group["modules"]).items():  # type: ignore[arg-type]
        mod = Module(path)
        for name, code in codes.items():
            if only is not None and name not in only:
                continue
            if code in KILLED:
                mod.killed += 1
            elif code in SURVIVED:
                known = equivalents.get(name)
                if known and known[0] == mutated_line(work, name):
                    mod.equivalent.append(name)
                else:
                    mod.survived.append(name)
            elif code in SKIPPED:
                continue
            else:
                mod.unchecked += 1
        result.append(mod)
    return result


def draw(work: Path, group: dict[str, object], size: int, total: int, seed: int) -> list[str]:
    names = sorted(n for codes in verdicts(work, group["modules"]).values() for n in codes)  # type: ignore[arg-type]
    k = min(len(names), max(1, round(size * len(names) / total))) if total else 0
    return sorted(random.Random(f"{seed}:{group['name']}").sample(names, k))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--group", action="append", help="only this group (repeatable)")
    parser.add_argument("--sample", type=int, help="run this many mutants, drawn with --seed")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--report", action="store_true", help="score the last run without running mutmut")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the last run; re-run its survivors against the current tests",
    )
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    args = parser.parse_args()

    config = load_config()
    threshold = float(config["threshold"])  # type: ignore[arg-type]
    groups = [g for g in config["group"] if not args.group or g["name"] in args.group]  # type: ignore[union-attr]
    if args.sample and not args.group:
        # CI's sample covers the groups that meet the threshold on a full run (sampled = true);
        # a group still below it is reported by `make mutation` until its survivors are killed
        held = [g["name"] for g in groups if not g.get("sampled", True)]
        if held:
            print(f"mutation: not sampled (below the threshold on the last full run): {', '.join(held)}")
        groups = [g for g in groups if g.get("sampled", True)]
    equivalents = load_equivalents()
    started = time.monotonic()

    samples: dict[str, list[str]] = {}
    if not args.report:
        before = {g["name"]: _text(WORK / g["name"] / "pyproject.toml") for g in groups}
        for group in groups:
            prepare(group, resume=args.resume)
        if args.resume:
            for group in groups:
                work = WORK / group["name"]
                if _text(work / "pyproject.toml") != before[group["name"]]:
                    # a changed test list makes mutmut drop every verdict: run them all again
                    print(f"mutation: {group['name']}: its tests changed, every mutant runs again")
                    continue
                samples[group["name"]] = [
                    name
                    for codes in verdicts(work, group["modules"]).values()
                    for name, code in codes.items()
                    if code is None or code in SURVIVED
                ]
        elif args.sample:
            counts = {}
            for group in groups:
                work = WORK / group["name"]
                generate(work)
                counts[group["name"]] = sum(len(c) for c in verdicts(work, group["modules"]).values())
            total = sum(counts.values())
            for group in groups:
                samples[group["name"]] = draw(WORK / group["name"], group, args.sample, total, args.seed)
        for group in groups:
            work = WORK / group["name"]
            log = work / "mutmut.log"
            names = samples.get(group["name"])
            if args.resume and names == []:
                continue
            print(
                f"mutation: {group['name']}: {len(names) if names is not None else 'all'} mutants ...",
                flush=True,
            )
            t0 = time.monotonic()
            code = mutmut(work, "run", *(names or []), log=log)
            took = time.monotonic() - t0
            print(f"mutation: {group['name']}: mutmut exited {code} after {took:.0f}s (log: {log})")
            if code != 0:
                print(log.read_text()[-3000:])
                return 2

    ok = True
    rows: list[Module] = []
    for group in groups:
        work = WORK / group["name"]
        only = set(samples[group["name"]]) if args.sample and not args.resume else None
        rows += score(work, group, only, equivalents)
    print(f"\n{'module':45} {'killed':>7} {'surv':>5} {'equiv':>5} {'score':>7}")
    for mod in rows:
        print(f"{mod.path:45} {mod.killed:7} {len(mod.survived):5} {len(mod.equivalent):5} {mod.score:7.1%}")
        if mod.unchecked:
            print(f"  {mod.unchecked} mutants were not run")
            ok = ok and bool(args.sample)
        for name in mod.survived:
            print(
                f"  survived: {name}"
                + (
                    f"\n    + {mutated_line(WORK / _group_of(groups, mod.path), name)}"
                    if args.survivors
                    else ""
                )
            )
        if not args.sample and mod.score < threshold:
            ok = False
    killed = sum(m.killed for m in rows)
    scored = sum(m.scored for m in rows)
    overall = killed / scored if scored else 1.0
    print(
        f"{'total':45} {killed:7} {scored - killed:5} {sum(len(m.equivalent) for m in rows):5} {overall:7.1%}"
    )
    print(f"mutation: {time.monotonic() - started:.0f}s")
    if args.sample and overall < threshold:
        ok = False
    if not args.sample and not args.group:  # every group scored in full
        write_scores(rows)
    print(
        f"mutation gate: {'passed' if ok else 'FAILED'} (threshold {threshold:.0%} of non-equivalent mutants)"
    )
    return 0 if ok else 1


def _text(path: Path) -> str:
    """The ``[tool.mutmut]`` table of a group's copy (what mutmut fingerprints), or ""."""
    if not path.exists():
        return ""
    return json.dumps(tomllib.loads(path.read_text()).get("tool", {}).get("mutmut", {}), sort_keys=True)


def _group_of(groups: list[dict[str, object]], path: str) -> str:
    for g in groups:
        if any(fnmatch.fnmatch(path, m) for m in g["modules"]):  # type: ignore[attr-defined]
            return str(g["name"])
    raise KeyError(path)


def write_scores(rows: list[Module]) -> None:
    lines = [
        "# Written by `make mutation` (mutation/gate.py, full run): per module, mutants killed,",
        "# survivors, accepted equivalents (mutation/equivalents.toml) and the score",
        "# killed / (killed + survived).",
        "",
    ]
    for mod in rows:
        lines += [
            "[[module]]",
            f'path = "{mod.path}"',
            f"killed = {mod.killed}",
            f"survived = {len(mod.survived)}",
            f"equivalent = {len(mod.equivalent)}",
            f"score = {mod.score:.4f}",
            "",
        ]
    (HERE / "scores.toml").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
