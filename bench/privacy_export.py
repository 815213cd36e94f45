"""Time the access export of one person among 1,000,000 rows of other people's data.

Prints `privacy_export_ms` (the real export, through every app's handler, without writing the ZIP)
then `privacy_export_fullscan_ms`, the same lookups forced to scan every table, measured in the same run.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

OTHERS = {"security": 400_000, "outbox": 400_000, "consent": 150_000, "users": 50_000}


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
    from django.contrib.auth import get_user_model

    from tessera.core.models import OutboxMessage, SecurityEvent
    from tessera.privacy.models import ConsentRecord

    old = (datetime.now(UTC) - timedelta(days=30)).isoformat(sep=" ")
    raw_insert(
        connection,
        SecurityEvent,
        [
            "seq",
            "created_at",
            "action",
            "actor_id",
            "email",
            "ip",
            "user_agent",
            "personal_digest",
            "prev_hash",
            "hash",
        ],
        (
            (
                i + 10,
                old,
                "auth.login",
                i % OTHERS["users"] + 1,
                f"other{i}@example.org",
                "192.0.2.1",
                "UA",
                "d",
                "p",
                f"h{i}",
            )
            for i in range(OTHERS["security"])
        ),
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
                f"other{i}@example.org",
                "Hello",
                "Body",
                f"<{i}@b>",
                "sent",
            )
            for i in range(OTHERS["outbox"])
        ),
    )
    raw_insert(
        connection,
        ConsentRecord,
        ["id", "purpose", "email", "subject_digest", "text_version", "text_hash", "method", "given_at"],
        (
            (uuid.uuid4().hex, "marketing", f"other{i}@example.org", f"{i:064x}", "1", "h", "checkbox", old)
            for i in range(OTHERS["consent"])
        ),
    )
    raw_insert(
        connection,
        get_user_model(),
        ["password", "email", "full_name", "date_joined"],
        (("!", f"user{i}@example.org", "Someone", old) for i in range(OTHERS["users"])),
    )


FULLSCAN = [
    # Unary plus makes SQLite ignore the index: the same lookups as the handlers, as full scans.
    "SELECT * FROM core_securityevent WHERE +email = ? OR +actor_id IN (SELECT id FROM accounts_user WHERE +email = ?)",
    "SELECT * FROM core_outboxmessage WHERE +recipient = ? AND ? = ?",
    "SELECT * FROM privacy_consentrecord WHERE +subject_digest = ? AND ? = ?",
    "SELECT * FROM accounts_user WHERE +email = ? AND ? = ?",
    "SELECT * FROM privacy_rightsrequest WHERE +email = ? AND ? = ?",
]


def main():
    django_setup("tessera-bench-export-")
    from django.db import connection, transaction

    from tessera.core.audit import security_event_record
    from tessera.core.outbox import email_queue
    from tessera.privacy import services
    from tessera.privacy.exports import export_data

    with transaction.atomic():
        populate(connection)
        from django.contrib.auth import get_user_model

        person = get_user_model().objects.create_user("subject@example.org", "pw", full_name="Sub Ject")
        for _ in range(20):
            email_queue(to=person.email, subject="Yours", body_text="b", kind="invitation")
        services.consent_record(
            email=person.email, purpose="marketing", text="t", text_version="1", method="checkbox"
        )
    # The chain head must follow the rows inserted directly; appends then work as usual.
    with connection.cursor() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO core_securityloghead (id, last_seq, last_hash, anchor_seq, anchor_hash)"
            " VALUES (1, ?, ?, 0, ?)",
            [OTHERS["security"] + 9, f"h{OTHERS['security'] - 1}", "0" * 64],
        )
    for _ in range(20):
        security_event_record(action="auth.login", actor=person, ip="198.51.100.1")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")

    def export_once():
        start = time.perf_counter()
        data = export_data(services.subject_resolve(person.email))
        elapsed = (time.perf_counter() - start) * 1000
        rows = sum(len(s["rows"]) for s in data["sections"])
        assert rows >= 41, rows
        return elapsed

    def fullscan_once():
        start = time.perf_counter()
        with connection.cursor() as cur:
            for sql in FULLSCAN:
                params = [person.email, person.email] if sql.count("?") == 2 else [person.email, 1, 1]
                if "subject_digest" in sql:
                    params[0] = services.subject_digest(person.email)
                cur.execute(sql, params)
                cur.fetchall()
        return (time.perf_counter() - start) * 1000

    export_once()  # warm the page cache
    export_ms = statistics.median(export_once() for _ in range(7))
    fullscan_ms = statistics.median(fullscan_once() for _ in range(3))
    print(f"privacy_export_ms: {export_ms:.1f}")
    print(f"privacy_export_fullscan_ms: {fullscan_ms:.1f}")


if __name__ == "__main__":
    main()
