"""Time the retention sweep on SQLite against a plain DELETE of the same rows, while a concurrent loop of
HTTP requests measures latency.

The ASGI server and the request loop (about 20 requests/s on the policy page, which reads the database)
run in their own processes on the same database file. The reference comes first: the same expired rows
are deleted by one plain `DELETE ... WHERE` per table in one transaction, on the same connection with the
engine's default settings; then the very same rows are inserted again and the hourly sweep deletes them.

    .venv/bin/python bench/retention_sweep.py [--busy]      (about 40 s)

Prints `retention_plain_delete_rows_per_s`, `retention_rows_per_s`, `retention_ratio` (sweep ÷ plain
DELETE), `retention_request_p99_ms` (requests answered during the sweep), the p99 during the plain DELETE
and the load average.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

SESSIONS = 300_000
OUTBOX = 200_000

CLIENT = r"""
import sys, time, httpx
url, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
import os
with httpx.Client(timeout=60) as client, open(out, "w") as f:
    while not os.path.exists(stop):
        start = time.perf_counter()
        try:
            status = client.get(url).status_code
        except httpx.TimeoutException:  # counted, with the time it waited: a p99 hides nothing
            status = "timeout"
        elapsed = time.perf_counter() - start
        f.write(f"{time.time():.6f} {elapsed * 1000:.3f} {status}\n")
        f.flush()
        time.sleep(max(0.0, 0.05 - elapsed))  # about 20 requests per second, like a busy public page
"""


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _busy import bench_arguments, busy, load_average, load_lines, percentile, ratio  # noqa: E402


def django_setup(prefix: str) -> Path:
    """A throw-away SQLite database under a temporary directory, migrated."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["TESSERA_VAR_DIR"] = str(tmp)
    os.environ.setdefault("TESSERA_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tessera.settings.base"
    os.environ["TESSERA_LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return tmp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_insert(connection, model, names: list[str], rows) -> None:
    """Insert rows fast with executemany; `rows` give raw database values for `names`, in that order.

    Every other column gets its field's default, so the benchmark follows the models as they change.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.name in names]
    missing = [f for f in fields if f.name not in names]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in missing]
    columns = [model._meta.get_field(n).column for n in names] + [f.column for f in missing]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, (list(row) + defaults for row in rows))


def expired_rows() -> tuple[list, list]:
    """The expired sessions and old sent emails, generated once so that both deletions get the same rows."""
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat(sep=" ")
    sessions = [(uuid.uuid4().hex, "e30:x", old) for _ in range(SESSIONS)]
    outbox = [
        (uuid.uuid4().hex, old, "invitation", "a@b", f"p{i}@example.org", "Hello", "Body", f"<{i}@b>", "sent")
        for i in range(OUTBOX)
    ]
    return sessions, outbox


def populate(connection, rows):
    from django.contrib.sessions.models import Session

    from tessera.core.models import OutboxMessage

    sessions, outbox = rows
    raw_insert(connection, Session, ["session_key", "session_data", "expire_date"], sessions)
    raw_insert(
        connection,
        OutboxMessage,
        [
            "id",
            "created_at",
            "kind",
            "from_email",
            "recipient",
            "subject",
            "body_text",
            "message_id",
            "status",
        ],
        outbox,
    )


def plain_delete(connection, rows) -> int:
    """The reference: one plain DELETE per table for the same rows, in one transaction; returns the count."""
    from django.contrib.sessions.models import Session
    from django.db import transaction

    from tessera.core.models import OutboxMessage

    quote = connection.ops.quote_name
    cutoff = (datetime.now(UTC) - timedelta(days=30)).isoformat(sep=" ")
    deleted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for model, column in ((Session, "expire_date"), (OutboxMessage, "created_at")):
            table = quote(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE {quote(column)} < %s", [cutoff])  # noqa: S608
            deleted += cursor.rowcount
    assert deleted == sum(map(len, rows)), deleted
    return deleted


def window(out: Path, started: float, ended: float) -> list[float]:
    """Latencies (ms) of the requests sent between two wall-clock times: 200s, and timeouts (after 60 s)."""
    samples = []
    for line in out.read_text().splitlines():
        stamp, ms, status = line.split()
        assert status in ("200", "timeout"), status
        if started <= float(stamp) <= ended + 0.1:
            samples.append(float(ms))
    return samples


def main():
    args = bench_arguments(__doc__)
    tmp = django_setup("tessera-bench-retention-")
    from django.db import connection, transaction

    from tessera.privacy.retention import retention_sweep

    rows = expired_rows()
    with transaction.atomic():
        populate(connection, rows)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out, stop = tmp / "latencies.txt", tmp / "stop"
    client = server = None
    with busy(args.busy):
        load_before = load_average()
        try:
            server = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "tessera.asgi:application",
                    "--port",
                    str(port),
                    "--lifespan",
                    "off",
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=ROOT,
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.1)
            client = subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", CLIENT, f"http://127.0.0.1:{port}/en/privacy/", str(out), str(stop)],
                env=env,
            )
            time.sleep(2)  # warm up
            plain_started = time.time()
            t0 = time.perf_counter()
            plain_deleted = plain_delete(connection, rows)
            plain_elapsed = time.perf_counter() - t0
            plain_ended = time.time()
            # The same rows again, the log emptied into the database: the sweep starts where the DELETE did.
            with transaction.atomic():
                populate(connection, rows)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            time.sleep(2)
            started = time.time()
            t0 = time.perf_counter()
            counts = retention_sweep()
            elapsed = time.perf_counter() - t0
            ended = time.time()
            time.sleep(0.5)
            Path(stop).touch()
            client.wait(timeout=10)
        finally:
            Path(stop).touch()
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
        load_after = load_average()
    deleted = counts["accounts.session"] + counts["core.outbox"]
    assert deleted == SESSIONS + OUTBOX == plain_deleted, counts
    samples = window(out, started, ended)
    plain_samples = window(out, plain_started, plain_ended)
    sweep_rate, plain_rate = deleted / elapsed, plain_deleted / plain_elapsed
    print(f"retention_plain_delete_rows_per_s: {plain_rate:.0f}")
    print(f"retention_rows_per_s: {sweep_rate:.0f}")
    print(f"retention_ratio: {ratio(sweep_rate, plain_rate):.3f}")
    print(f"retention_request_p99_ms: {percentile(samples, 0.99):.1f}")
    if plain_samples:
        print(f"retention_plain_delete_request_p99_ms: {percentile(plain_samples, 0.99):.1f}")
    print(load_lines(load_before, load_after))
    print(
        f"# {deleted} rows: sweep {elapsed:.2f} s ({len(samples)} requests meanwhile), plain DELETE"
        f" {plain_elapsed:.2f} s ({len(plain_samples)} requests meanwhile); busy core: {args.busy}"
    )


if __name__ == "__main__":
    main()
