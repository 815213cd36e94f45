"""Time the access export of one person among 1,000,000 rows of other people's data.

Prints `privacy_export_ms` (the real export, through every app's handler, without writing the ZIP)
then `privacy_export_fullscan_ms`, the same lookups forced to scan every table, measured in the same run.
"""

# ruff: noqa: S608  (the SQL below names tables from the models' metadata; values are parameters)

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Other people's rows, 1,000,000 in all, across every table the export reads.
OTHERS = {
    "security": 300_000,
    "outbox": 240_000,
    "consent": 100_000,
    "users": 50_000,
    "cards": 10_000,
    "leads": 100_000,
    "card_invitations": 50_000,
    "events": 30_000,
    "event_invitations": 80_000,
    "meeting_sessions": 10_000,
    "session_participants": 30_000,
}
assert sum(OTHERS.values()) == 1_000_000


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _busy import bench_arguments, busy, load_average, load_lines  # noqa: E402 - shared by every benchmark


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
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, (list(row) + defaults for row in rows))


def populate(connection):
    from django.contrib.auth import get_user_model

    from tessera.accounts.models import Organisation
    from tessera.cards.models import Card, CardInvitation, Lead
    from tessera.core.models import OutboxMessage, SecurityEvent
    from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
    from tessera.privacy.models import ConsentRecord

    old = (datetime.now(UTC) - timedelta(days=30)).isoformat(sep=" ")
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat(sep=" ")
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
    # Cards of other account holders, the contacts they received and the invitations they sent.
    organisation = Organisation.objects.create(name="Other company", slug="other-company")
    raw_insert(
        connection,
        Card,
        ["owner", "slug", "first_name", "last_name", "created_at", "updated_at"],
        ((i + 1, f"card{i}", "Some", "One", old, old) for i in range(OTHERS["cards"])),
    )
    card_ids = list(Card.objects.order_by("pk").values_list("pk", "owner_id"))
    raw_insert(
        connection,
        Lead,
        ["id", "card", "owner", "name", "email", "consent_version", "created_at", "last_contact_at"],
        (
            (
                uuid.uuid4().hex,
                card_ids[i % len(card_ids)][0],
                card_ids[i % len(card_ids)][1],
                "Visitor",
                f"visitor{i}@example.org",
                "1",
                old,
                old,
            )
            for i in range(OTHERS["leads"])
        ),
    )
    raw_insert(
        connection,
        CardInvitation,
        ["organisation", "email", "token_hash", "created_at"],
        (
            (organisation.pk, f"invited{i}@example.org", f"{i:064x}", old)
            for i in range(OTHERS["card_invitations"])
        ),
    )
    # Meetings of other organisers, their invitees and who connected.
    raw_insert(
        connection,
        Event,
        [
            "room_id",
            "public_id",
            "uid",
            "manage_token_hash",
            "room_secret_check",
            "title",
            "starts_at",
            "ends_at",
            "time_zone",
            "organiser_email",
            "status",
            "created_at",
            "updated_at",
        ],
        (
            (
                f"room{i}",
                f"event{i}",
                uuid.uuid4().hex,
                f"{i:064x}",
                "c",
                "Weekly call",
                soon,
                soon,
                "Europe/Paris",
                f"organiser{i}@example.org",
                "scheduled",
                old,
                old,
            )
            for i in range(OTHERS["events"])
        ),
    )
    event_ids = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    raw_insert(
        connection,
        Invitation,
        ["event", "public_id", "email", "token_hash", "created_at"],
        (
            (
                event_ids[i % len(event_ids)],
                uuid.uuid4().hex,
                f"guest{i}@example.org",
                f"{i:064x}",
                old,
            )
            for i in range(OTHERS["event_invitations"])
        ),
    )
    raw_insert(
        connection,
        MeetingSession,
        ["event", "created_at", "started_at"],
        ((event_ids[i % len(event_ids)], old, old) for i in range(OTHERS["meeting_sessions"])),
    )
    session_ids = list(MeetingSession.objects.order_by("pk").values_list("pk", flat=True))
    invitation_ids = list(
        Invitation.objects.order_by("pk").values_list("pk", flat=True)[: OTHERS["session_participants"]]
    )
    raw_insert(
        connection,
        SessionParticipant,
        ["session", "invitation", "joined_at"],
        (
            (session_ids[i % len(session_ids)], invitation_ids[i % len(invitation_ids)], old)
            for i in range(OTHERS["session_participants"])
        ),
    )


def subject_populate(person) -> int:
    """The person's own rows in every app, through the services; returns how many rows they are."""
    from tessera.cards.models import Card, CardInvitation, Lead
    from tessera.core.outbox import email_queue
    from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
    from tessera.privacy import services

    for _ in range(20):
        email_queue(to=person.email, subject="Yours", body_text="b", kind="invitation")
    services.consent_record(
        email=person.email, purpose="marketing", text="t", text_version="1", method="checkbox"
    )
    # A card of their own, contacts they left on other people's cards, an invitation to a company.
    own = Card.objects.create(owner=person, slug="subject-card", first_name="Sub", last_name="Ject")
    other_card = Card.objects.exclude(pk=own.pk).first()
    for i in range(5):
        Lead.objects.create(
            card=other_card,
            owner_id=other_card.owner_id,
            name="Sub Ject",
            email=person.email,
            consent_version="1",
        )
        Lead.objects.create(
            card=own, owner=person, name=f"Visitor {i}", email=f"v{i}@example.org", consent_version="1"
        )
    CardInvitation.objects.create(
        organisation_id=CardInvitation.objects.values_list("organisation_id", flat=True).first(),
        email=person.email,
        token_hash="f" * 64,
    )
    # Meetings they organise, invitations they received, and their connections.
    now = datetime.now(UTC)
    organised = Event.objects.create(
        room_id="subject-room",
        public_id="subject-event",
        manage_token_hash="e" * 64,
        room_secret_check="c",
        title="My meeting",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=1),
        time_zone="Europe/Paris",
        organiser_email=person.email,
        status="scheduled",
    )
    Invitation.objects.create(event=organised, email="guest@example.org", token_hash="d" * 64)
    MeetingSession.objects.create(event=organised)
    others = list(Event.objects.exclude(pk=organised.pk)[:3])
    for index, event in enumerate(others):
        invitation = Invitation.objects.create(
            event=event, email=person.email, token_hash=f"subject-invitation-{index}"
        )
        SessionParticipant.objects.create(
            session=MeetingSession.objects.create(event=event), invitation=invitation
        )
    return 20 + 1 + 1 + 10 + 1 + 1 + len(others) * 2


def fullscan(person_email: str, digest: str) -> list[tuple[str, list]]:
    """The handlers' lookups with every index refused (SQLite ignores an index on `+column`)."""
    from django.contrib.auth import get_user_model

    from tessera.cards.models import Card, CardInvitation, Lead
    from tessera.core.models import OutboxMessage, SecurityEvent
    from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
    from tessera.privacy.models import ConsentRecord, Incident, RightsRequest

    t = {m: m._meta.db_table for m in (Card, CardInvitation, Lead, OutboxMessage, SecurityEvent, Event,
                                        Invitation, MeetingSession, SessionParticipant, ConsentRecord,
                                        Incident, RightsRequest, get_user_model())}  # fmt: skip
    users = f"SELECT id FROM {t[get_user_model()]} WHERE +email = ?"
    invitations = f"SELECT id FROM {t[Invitation]} WHERE +email = ?"
    organised = f"SELECT id FROM {t[Event]} WHERE +organiser_email = ?"
    e = person_email
    return [
        (f"SELECT * FROM {t[SecurityEvent]} WHERE +email = ? OR +actor_id IN ({users})", [e, e]),
        (f"SELECT * FROM {t[OutboxMessage]} WHERE +recipient = ?", [e]),
        (f"SELECT * FROM {t[ConsentRecord]} WHERE +subject_digest = ?", [digest]),
        (f"SELECT * FROM {t[get_user_model()]} WHERE +email = ?", [e]),
        (f"SELECT * FROM {t[RightsRequest]} WHERE +email = ?", [e]),
        (f"SELECT * FROM {t[Incident]} WHERE +affected_emails LIKE ?", [f"%{e}%"]),
        (f"SELECT * FROM {t[Card]} WHERE +owner_id IN ({users})", [e]),
        (f"SELECT * FROM {t[Lead]} WHERE +email = ? OR +owner_id IN ({users})", [e, e]),
        (f"SELECT * FROM {t[CardInvitation]} WHERE +email = ?", [e]),
        (f"SELECT * FROM {t[Event]} WHERE +organiser_email = ?", [e]),
        (f"SELECT * FROM {t[Invitation]} WHERE +email = ? OR +event_id IN ({organised})", [e, e]),
        (f"SELECT * FROM {t[MeetingSession]} WHERE +event_id IN ({organised})", [e]),
        (f"SELECT * FROM {t[SessionParticipant]} WHERE +invitation_id IN ({invitations})", [e]),
    ]


def main():
    args = bench_arguments(__doc__)
    with busy(args.busy):
        load_before = load_average()
        measure()
        print(load_lines(load_before))
        print(f"# busy core: {args.busy}")


def measure():
    django_setup("tessera-bench-export-")
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from tessera.core.audit import security_event_record
    from tessera.privacy import services
    from tessera.privacy.exports import export_data

    with transaction.atomic():
        populate(connection)
        person = get_user_model().objects.create_user("subject@example.org", "pw", full_name="Sub Ject")
        own_rows = subject_populate(person)
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
    statements = fullscan(person.email, services.subject_digest(person.email))

    def export_once():
        start = time.perf_counter()
        data = export_data(services.subject_resolve(person.email))
        elapsed = (time.perf_counter() - start) * 1000
        rows = sum(len(s["rows"]) for s in data["sections"])
        assert rows >= own_rows + 20, rows
        categories = {s["category"] for s in data["sections"] if s["rows"]}
        assert {"cards", "details_you_exchanged", "card_invitations"} <= categories, categories
        return elapsed

    def fullscan_once():
        start = time.perf_counter()
        found = 0
        with connection.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
                found += len(cur.fetchall())
        assert found >= own_rows + 20, found
        return (time.perf_counter() - start) * 1000

    export_once()  # warm the page cache
    export_ms = statistics.median(export_once() for _ in range(7))
    fullscan_ms = statistics.median(fullscan_once() for _ in range(3))
    print(f"privacy_export_ms: {export_ms:.1f}")
    print(f"privacy_export_fullscan_ms: {fullscan_ms:.1f}")


if __name__ == "__main__":
    main()
