"""Child process of ``test_crash_durability``: commit batches forever until killed.

Usage: ``python crash_child.py <surrealkv-url> <run-number>``.

Each batch is one ``Database.run_transaction``: ``ROWS`` rows sharing a batch id plus
one marker row. Only after ``run_transaction`` has returned (the engine acknowledged
the commit) is the batch id printed and flushed to stdout, so every id the parent
reads was acknowledged as committed before the process was killed.
"""

from __future__ import annotations

import asyncio
import sys

from agentical_repo import Database, DatabaseSettings, Statement

ROWS = 5


async def main(url: str, run: int) -> None:
    settings = DatabaseSettings(url=url, namespace="crash", database="crash", require_schema=False)
    async with Database(settings) as db:
        await db.query(
            "DEFINE TABLE IF NOT EXISTS crash_row SCHEMALESS;"
            "DEFINE TABLE IF NOT EXISTS crash_marker SCHEMALESS;"
        )
        print("ready", flush=True)
        n = 0
        while True:
            batch = f"r{run}-b{n}"
            statements = [
                Statement(
                    "CREATE crash_row CONTENT { batch: $batch, i: $i, pad: $pad }",
                    {"batch": batch, "i": i, "pad": "x" * 200},
                    operation="CREATE",
                    table="crash_row",
                )
                for i in range(ROWS)
            ]
            statements.append(
                Statement(
                    "CREATE crash_marker CONTENT { batch: $batch, rows: $rows }",
                    {"batch": batch, "rows": ROWS},
                    operation="CREATE",
                    table="crash_marker",
                )
            )
            await db.run_transaction(statements)
            sys.stdout.write(batch + "\n")
            sys.stdout.flush()
            n += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
