"""The members' CSV import against any file: a preview row by row or a form error, nothing created before
confirmation, and a confirmation that creates every row or none."""

import codecs

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tessera.cards import services
from tessera.cards.models import CardInvitation
from tessera.core.models import OutboxMessage

FUZZ = settings.get_profile("fuzz")
DB = {"max_examples": 40, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
COLUMNS = ["email", "first_name", "last_name", "job_title", "department", "role"]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]
CELLS = [
    '=HYPERLINK("https://evil.example","x")',
    "+33612345678",
    "-2+3",
    "@SUM(A1:A2)",
    "=cmd|' /C calc'!A0",
    '"quoted, with comma"',
    "line\nbreak",
    "\x00",
    "admin",
    "member",
    "owner",
    "ann@example.org",
    "ANN@EXAMPLE.ORG",
    " spaced@example.org ",
    "not an address",
    "ą" * 100,
    "x" * 300,
    "",
]
cells = st.one_of(st.sampled_from(CELLS), st.text(max_size=30))
headers = st.lists(
    st.one_of(st.sampled_from(COLUMNS), st.sampled_from([" Email ", "EMAIL", "phone", "", "email "])),
    min_size=1,
    max_size=7,
)


def csv_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


@st.composite
def csv_files(draw) -> bytes:
    header = draw(headers)
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(",".join(csv_quote(c) for c in row) for row in [header, *rows])
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


@st.composite
def wellformed(draw) -> str:
    """A file an administrator would make: fresh addresses, any names (formulas too), a known role."""
    extra = draw(st.lists(st.sampled_from(COLUMNS[1:]), unique=True))
    header = ["email", *extra]
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        values = {
            "email": draw(st.uuids()).hex[:16] + "@example.org",
            "role": draw(st.sampled_from(["member", "admin", ""])),
        }
        values |= {c: draw(cells.map(lambda v: v.strip()[:80])) for c in extra if c != "role"}
        rows.append([values.get(c, "") for c in header])
    return "\r\n".join(",".join(csv_quote(c) for c in row) for row in [header, *rows])


files = st.one_of(csv_files(), st.binary(max_size=600), wellformed().map(str.encode))


@pytest.fixture
def importer(client, admin_user, org):
    client.force_login(admin_user)
    return client


def created() -> tuple[int, int]:
    return CardInvitation.objects.count(), OutboxMessage.objects.count()


def upload(client, org, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("cards:org_import", args=[org.slug]),
        {"file": SimpleUploadedFile("members.csv", data, content_type="text/csv")},
    )


@pytest.mark.django_db
@settings(FUZZ, **DB)
@given(data=files)
@example(data=b"email\n" + b"a" * 200_000 + b"@example.org\n")
@example(data=codecs.BOM_UTF8 + b'email,first_name\n=1+1@x.org,=HYPERLINK("x")\n')
@example(data=b"email,first_name\nann@example.org,\x00\n")
@example(data=b"\xff\xfeemail\n")
@example(data=b"email\n" + b"b@example.org\n" * 1_001)
@example(data=b'email\n"unterminated\n')
@example(data=b"email,,\nann@example.org,x,y,z\n")
def test_any_file_gives_a_preview_or_a_form_error_and_creates_nothing(importer, org, data):
    before = created()
    response = upload(importer, org, data)
    assert response.status_code in {200, 400}
    event(f"status {response.status_code}")
    assert created() == before
    if response.status_code == 400:
        assert response.context["form"].errors["file"]  # a message on the file field
        return
    rows = response.context["rows"]
    assert rows and [row["line"] for row in rows] == sorted({row["line"] for row in rows})
    for row in rows:
        assert set(COLUMNS) <= set(row) and all(isinstance(m, str) and m for m in row["errors"])
        assert not row["errors"] or response.context["bad_rows"]


@pytest.mark.django_db
@settings(FUZZ, **DB)
@given(
    text=st.one_of(
        csv_files().map(lambda b: b.decode("utf-8", "replace")),
        st.text(max_size=300),
        wellformed(),
        wellformed(),
    )
)
@example(text="email,role\nnew@example.org,member\nnew2@example.org,admin\n")
@example(text="email\nok@example.org\nbad address\n")
@example(text="email\n" + "a" * 200_000 + "\n")
def test_confirming_any_text_creates_every_row_or_none(importer, admin_user, org, text):
    try:
        rows = len(
            services.invitations_import_preview(organisation=org, csv_text=text, invited_by=admin_user)
        )
    except ValidationError:
        rows = 0
    before_invitations, _ = created()
    response = importer.post(reverse("cards:org_import_confirm", args=[org.slug]), {"csv_text": text})
    assert response.status_code == 302
    added = CardInvitation.objects.count() - before_invitations
    event("created" if added else "refused")
    assert added in {0, rows}
    if added:
        assert response.url == reverse("cards:org_dashboard", args=[org.slug])
        emails = {i.email for i in CardInvitation.objects.order_by("-pk")[:added]}
        assert all(email == email.strip().lower() and "@" in email for email in emails)
    else:
        assert response.url == reverse("cards:org_import", args=[org.slug])
