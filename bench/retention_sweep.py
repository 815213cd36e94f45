"""Time the retention sweep on SQLite while a concurrent loop of HTTP requests measures latency.

The ASGI server and the request loop (about 20 requests/s on the policy page, which reads the database)
run in their own processes on the same database file.
Prints `retention_rows_per_s` (expired rows deleted per second) then `retention_request_p99_ms`.
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
with httpx.Client() as client, open(out, "w") as f:
    while not os.path.exists(stop):
        start = time.perf_counter()
        r = client.get(url)
        elapsed = time.perf_counter() - start
        f.write(f"{time.time():.6f} {elapsed * 1000:.3f} {r.status_code}\n")
        f.flush()
        time.sleep(max(0.0, 0.05 - elapsed))  # about 20 requests per second, like a busy public page
"""


ROOT = Path(__file__).resolve().parents[1]


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


def populate(connection):
    from django.contrib.sessions.models import Session

    from tessera.core.models import OutboxMessage

    old = (datetime.now(UTC) - timedelta(days=400)).isoformat(sep=" ")
    raw_insert(
        connection,
        Session,
        ["session_key", "session_data", "expire_date"],
        ((uuid.uuid4().hex, "e30:x", old) for _ in range(SESSIONS)),
    )
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
        (
            (
                uuid.uuid4().hex,
                old,
                "invitation",
                "a@b",
                f"p{i}@example.org",
                "Hello",
                "Body",
                f"<{i}@b>",
                "sent",
            )
            for i in range(OUTBOX)
        ),
    )


def main():
    tmp = django_setup("tessera-bench-retention-")
    from django.db import connection, transaction

    from tessera.privacy.retention import retention_sweep

    with transaction.atomic():
        populate(connection)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
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
    out, stop = tmp / "latencies.txt", tmp / "stop"
    client = None
    try:
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
        server.terminate()
        server.wait(timeout=10)
    deleted = counts["accounts.session"] + counts["core.outbox"]
    assert deleted == SESSIONS + OUTBOX, counts
    samples = []
    for line in out.read_text().splitlines():
        stamp, ms, status = line.split()
        assert status == "200", status
        if started <= float(stamp) <= ended + 0.1:
            samples.append(float(ms))
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"retention_rows_per_s: {deleted / elapsed:.0f}")
    print(f"retention_request_p99_ms: {p99:.1f}")
    print(f"# {deleted} rows in {elapsed:.2f} s; {len(samples)} requests during the sweep", file=sys.stderr)


if __name__ == "__main__":
    main()
