"""The ``agentical-repo`` command (also ``python -m agentical_repo``).

``schema apply|status|verify``: the operations a deployment needs on a database. The
demo and the benchmarks are not part of the installed package; they live in the
repository (``examples/demo.py``, ``benchmarks/bench.py``; ``make demo``, ``make bench``).

The URL comes from ``--url``, else ``AGENTICAL_DB_URL``, else the embedded
``surrealkv://.data/agentical``; the other connection settings (namespace, database,
credentials) come from the ``AGENTICAL_DB_*`` environment like everywhere else.

``status`` and ``verify`` only read: on a ``surrealkv://`` path that holds no store they
refuse instead of creating an empty one.

Exit codes are part of the interface so scripts and CI can rely on them:
0 success / schema matches; 1 drift (``verify``) or changed/missing applied files
(``status``); 2 an error, printed as one line (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as SettingsError

from .errors import AgenticalError
from .settings import DEFAULT_URL, DatabaseSettings

if TYPE_CHECKING:
    from rich.console import Console

    from .database import Database

__all__ = ["EXIT_DRIFT", "EXIT_ERROR", "EXIT_OK", "build_parser", "main"]

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


class CliError(Exception):
    """An expected failure: printed as one line, exit code 2."""


def default_url() -> str:
    return os.environ.get("AGENTICAL_DB_URL") or DEFAULT_URL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentical-repo",
        description="Schema tooling of agentical-repo (SurrealDB data-access layer).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def connection(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--url",
            default=None,
            help=f"SurrealDB URL (default: $AGENTICAL_DB_URL, else {DEFAULT_URL})",
        )
        p.add_argument(
            "--namespace", default=None, help="namespace (default: $AGENTICAL_DB_NAMESPACE or agentical)"
        )
        p.add_argument("--database", default=None, help="database (default: $AGENTICAL_DB_DATABASE or main)")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    schema = commands.add_parser("schema", help="apply, inspect or verify the schema")
    actions = schema.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("apply", "apply pending schema files (idempotent)"),
        (
            "status",
            "applied / pending files with checksums (exit 1 if an applied file changed or is missing)",
        ),
        ("verify", "compare the live schema with the files (exit 0 match, 1 drift, 2 error)"),
    ):
        p = actions.add_parser(name, help=text, description=text)
        connection(p)
        p.add_argument("--dir", default=None, help="schema directory (default: the packaged schema)")
        p.add_argument(
            "--track",
            action="append",
            default=[],
            metavar="NAME=DIR",
            help="an application migration track, applied after the packaged schema (repeatable, in order)",
        )
        if name == "verify":
            p.add_argument(
                "--scratch",
                choices=("auto", "embedded", "server"),
                default="auto",
                help="where the files are applied for comparison: an in-process mem:// engine, a temporary "
                "database on the server, or auto (embedded for embedded URLs, server for servers)",
            )
    return parser


def settings_from(args: argparse.Namespace) -> DatabaseSettings:
    overrides: dict[str, Any] = {"url": args.url or default_url()}
    if getattr(args, "namespace", None):
        overrides["namespace"] = args.namespace
    if getattr(args, "database", None):
        overrides["database"] = args.database
    try:
        return DatabaseSettings(**overrides)
    except SettingsError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise CliError(f"invalid {where}: {first.get('msg', 'bad value')}") from None


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


async def _with_db(settings: DatabaseSettings, body: Callable[[Database], Awaitable[int]]) -> int:
    from .database import Database

    async with Database(settings) as db:
        return await body(db)


def _where(settings: DatabaseSettings) -> str:
    from rich.markup import escape

    url = settings.url
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    return escape(f"{scheme}://{rest} ({settings.namespace}/{settings.database})")


# --------------------------------------------------------------------------- schema


async def _schema_apply(db: Database, args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape

    from . import migrations

    report = await migrations.apply(db, args.dir, tracks=getattr(args, "tracks", None))
    for name in report.applied:
        console.print(f"[green]applied[/]  {escape(name)}  ({report.durations_ms[name]:.1f} ms)")
    if report.applied:
        console.print(f"[bold green]{len(report.applied)} file(s) applied[/] to {_where(db.settings)}")
    else:
        console.print(
            f"schema up to date on {_where(db.settings)}: nothing to apply ({len(report.skipped)} applied)"
        )
    return EXIT_OK


async def _schema_status(db: Database, args: argparse.Namespace, console: Console) -> int:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from . import migrations

    report = await migrations.status(db, args.dir, tracks=getattr(args, "tracks", None))
    table = Table(title=f"schema status: {_where(db.settings)}", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("file", overflow="fold")
    for col in ("state", "sha256", "applied (UTC)", "ms"):
        table.add_column(col, no_wrap=True)
    colors = {"applied": "green", "pending": "yellow", "changed": "red", "missing": "red"}
    for m in report.migrations:
        checksum = (m.checksum or m.applied_checksum or "")[:12]
        if m.state == "changed":
            checksum = f"{(m.applied_checksum or '')[:12]} → {(m.checksum or '')[:12]}"
        table.add_row(
            escape(m.name),
            f"[{colors[m.state]}]{m.state}[/]",
            checksum,
            m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else "",
            f"{m.duration_ms:.1f}" if m.duration_ms is not None else "",
        )
    console.print(table)
    console.print(
        f"{len(report.applied)} applied, {len(report.pending)} pending, "
        f"{len(report.changed)} changed, {len(report.missing)} missing"
    )
    if not report.ok:
        console.print("[red]applied files changed or are missing: `schema apply` will refuse[/]")
        return EXIT_DRIFT
    return EXIT_OK


async def _schema_verify(db: Database, args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape

    from . import migrations

    report = await migrations.verify(
        db, args.dir, scratch=getattr(args, "scratch", "auto"), tracks=getattr(args, "tracks", None)
    )
    if report.ok:
        console.print(f"[green]schema matches[/] the files on {_where(db.settings)}")
        return EXIT_OK
    console.print(f"[red]schema drift[/] on {_where(db.settings)}: {len(report.differences)} difference(s)")
    for d in report.differences:
        console.print(f"  {escape(str(d))}")
    if report.pending:
        console.print(
            f"pending migrations: {escape(', '.join(report.pending))} (run `agentical-repo schema apply`)"
        )
    return EXIT_DRIFT


SCHEMA_ACTIONS = {"apply": _schema_apply, "status": _schema_status, "verify": _schema_verify}


# --------------------------------------------------------------------------- dispatch


def _check_read_only_target(args: argparse.Namespace, settings: DatabaseSettings) -> None:
    """``status``/``verify`` must not create the store they were asked to inspect."""
    path = settings.store_path
    if args.action in ("status", "verify") and path is not None and not Path(path).exists():
        raise CliError(
            f"no store at {path}: `schema {args.action}` only reads and does not create one "
            "(check --url, or run `agentical-repo schema apply` first)"
        )


def _check_dir(args: argparse.Namespace) -> None:
    """Warn (stderr) about a ``--dir`` that is empty or holds no schema files."""
    if args.dir is None:
        return
    if not args.dir.strip():
        print("warning: --dir is empty; using the packaged schema", file=sys.stderr)
        args.dir = None
    elif Path(args.dir).is_dir() and not any(Path(args.dir).glob("*.surql")):
        print(f"warning: --dir {args.dir} holds no .surql files", file=sys.stderr)


def _parse_tracks(args: argparse.Namespace) -> None:
    """``--track NAME=DIR`` options as ``(name, dir)`` pairs; the names are checked by ``Track``."""
    tracks: list[tuple[str, str]] = []
    for raw in getattr(args, "track", []) or []:
        name, sep, directory = raw.partition("=")
        if not sep or not name or not directory:
            raise CliError(
                f"--track takes NAME=DIR, e.g. --track notes=./migrations (got {len(raw)} characters)"
            )
        if not Path(directory).is_dir():
            raise CliError(f"--track {name}: no directory at {directory}")
        tracks.append((name, directory))
    args.tracks = tracks


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    settings = settings_from(args)
    if args.command == "schema":
        _check_read_only_target(args, settings)
        _check_dir(args)
        _parse_tracks(args)
        action = SCHEMA_ACTIONS[args.action]
        return asyncio.run(_with_db(settings, lambda db: action(db, args, console)))
    raise CliError(f"unknown command {args.command!r}")  # pragma: no cover - argparse refuses first


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    # The library never configures logfire; a CLI run without configuration is normal,
    # so logfire's "not configured" warning would only be noise here.
    os.environ.setdefault("LOGFIRE_IGNORE_NO_CONFIG", "1")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse already printed it
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    debug = bool(getattr(args, "debug", False))
    try:
        console = _console()
    except ImportError:
        print("error: the CLI needs rich: pip install 'agentical-repo[cli]'", file=sys.stderr)
        return EXIT_ERROR
    try:
        return _dispatch(args, console)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except (AgenticalError, CliError, OSError) as exc:
        if debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug, not an expected failure: still one line without --debug
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (re-run with --debug)", file=sys.stderr)
        return EXIT_ERROR
