"""Apply ``schema/NNNN_name.surql`` files in order, each atomically, recorded in ``_migration``.

The ``.surql`` files are the one source of the schema. Each file is applied in a
single ``BEGIN … COMMIT`` block together with the ``_migration`` record that
says it was applied (name, sha256 checksum, time), so a file is either fully
applied and recorded, or not at all.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AgenticalError, AlreadyExistsError, ValidationError
from .surql.statement import Statement

if TYPE_CHECKING:
    from .database import Database

__all__ = ["MigrationFile", "MigrationReport", "apply", "discover", "schema_dir"]

FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.surql$")

BOOTSTRAP = """
DEFINE TABLE IF NOT EXISTS _migration SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS name ON _migration TYPE string;
DEFINE FIELD IF NOT EXISTS checksum ON _migration TYPE string;
DEFINE FIELD IF NOT EXISTS applied_at ON _migration TYPE datetime VALUE time::now() READONLY;
DEFINE FIELD IF NOT EXISTS duration_ms ON _migration TYPE option<float>;
DEFINE INDEX IF NOT EXISTS _migration_name ON _migration FIELDS name UNIQUE;
"""


def schema_dir() -> Path:
    """The packaged schema (inside the wheel) or, in a source checkout, ``<repo>/schema``."""
    here = Path(__file__).resolve().parent
    packaged = here / "_schema"
    if packaged.is_dir():
        return packaged
    return here.parent / "schema"


@dataclass(frozen=True)
class MigrationFile:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str


@dataclass
class MigrationReport:
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    durations_ms: dict[str, float] = field(default_factory=dict)


def discover(directory: str | Path | None = None) -> list[MigrationFile]:
    """The migration files in order; refuses a misnamed file or a duplicate number."""
    root = Path(directory) if directory is not None else schema_dir()
    if not root.is_dir():
        raise ValidationError(f"schema directory not found: {root}")
    files: list[MigrationFile] = []
    seen: dict[int, str] = {}
    for path in sorted(root.glob("*.surql")):
        m = FILE_RE.match(path.name)
        if not m:
            raise ValidationError(f"migration file {path.name!r} must be named NNNN_name.surql")
        version = int(m.group(1))
        if version in seen:
            raise ValidationError(f"migration number {version:04d} used twice ({seen[version]}, {path.name})")
        seen[version] = path.name
        sql = path.read_text(encoding="utf-8")
        files.append(MigrationFile(version, path.name, path, sql, hashlib.sha256(sql.encode()).hexdigest()))
    return files


async def applied_migrations(db: Database) -> dict[str, dict[str, Any]]:
    rows = (await db.query("SELECT name, checksum, applied_at, duration_ms FROM _migration"))[0]
    return {row["name"]: row for row in rows or []}


async def apply(db: Database, directory: str | Path | None = None) -> MigrationReport:
    """Apply every pending file; idempotent. Refuses changed or missing applied files."""
    files = discover(directory)
    await db.query(BOOTSTRAP)
    applied = await applied_migrations(db)
    by_name = {f.name: f for f in files}
    missing = sorted(set(applied) - set(by_name))
    if missing:
        raise ValidationError(
            f"applied migration file(s) missing from the schema directory: {', '.join(missing)}"
        )
    for f in files:
        row = applied.get(f.name)
        if row is not None and row["checksum"] != f.checksum:
            raise ValidationError(
                f"migration {f.name} changed after it was applied "
                f"(recorded sha256 {row['checksum'][:12]}…, file {f.checksum[:12]}…); "
                "add a new numbered file instead of editing an applied one"
            )
    report = MigrationReport()
    for f in files:
        if f.name in applied:
            report.skipped.append(f.name)
            continue
        start = time.perf_counter()
        record = Statement(
            "CREATE _migration CONTENT { name: $name, checksum: $checksum }",
            {"name": f.name, "checksum": f.checksum},
            operation="CREATE",
            table="_migration",
        )
        try:
            await db.run_transaction([Statement(f.sql, {}, operation="MIGRATE", table=None), record])
        except AgenticalError as exc:
            now = await applied_migrations(db)
            if f.name in now and now[f.name]["checksum"] == f.checksum:
                report.skipped.append(f.name)  # a concurrent runner applied it first
                continue
            if isinstance(exc, AlreadyExistsError):
                raise
            exc.message = f"migration {f.name} failed (nothing applied): {exc.message}"
            exc.args = (exc.message,)
            raise
        elapsed = (time.perf_counter() - start) * 1000
        await db.query(
            "UPDATE _migration SET duration_ms = $ms WHERE name = $name",
            {"ms": elapsed, "name": f.name},
        )
        report.applied.append(f.name)
        report.durations_ms[f.name] = elapsed
    return report
