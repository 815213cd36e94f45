"""Customer files: staff-only pages, the timeline of a customer and only theirs, logged reads, bad input,
the end of the relationship, its 3-year retention, and the register's export and erasure."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from tessera.core.models import SecurityEvent
from tessera.privacy import services as privacy_services
from tessera.privacy.accounts import account_anonymise
from tessera.privacy.dpa import dpa_accept
from tessera.privacy.dpo import incident_save
from tessera.privacy.exports import export_build
from tessera.privacy.models import Incident
from tessera.privacy.register import Subject, registry
from tessera.privacy.retention import retention_sweep
from tessera.support import complaint_services
from tessera.support import customer_services as services
from tessera.support.customers import CustomerContact, CustomerFile, CustomerNote
from tessera.support.models import Ticket
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

from .conftest import post, solved
from .test_desk import staff_client

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
READ = ("view_customerfile",)
EDIT = ("view_customerfile", "change_customerfile")


def at(when):
    return time_machine.travel(when, tick=False)


def ticket_from(email: str, subject: str) -> Ticket:
    assert post(Client(), "/en/contact/", solved(email=email, subject=subject)).status_code == 200
    return Ticket.objects.get(subject=subject)


def complaint_of(user, description: str):
    return complaint_services.complaint_file(
        author=user, category="billing", description=description, files=[], language="en"
    )


def rights_request_of(email: str):
    return privacy_services.rights_request_create(email=email, kind="access", channel="email")


@pytest.fixture
def acme():
    owner = UserFactory(email="owner@acme.example", full_name="Olga Owner")
    organisation = OrganisationFactory(owner=owner, name="Acme")
    MembershipFactory(organisation=organisation, user=UserFactory(email="member@acme.example"))
    return organisation


@pytest.fixture
def rival():
    return OrganisationFactory(owner=UserFactory(email="rival@other.example"), name="Rival")


def file_page(organisation) -> str:
    return f"/en/admin/support/customers/org/{organisation.pk}/"


def act(file, action: str) -> str:
    return f"/en/admin/support/customers/file/{file.pk}/{action}/"


def test_customer_files_are_for_staff_with_the_named_permission(acme):
    person = UserFactory()
    pages = [
        "/en/admin/support/customers/",
        file_page(acme),
        f"/en/admin/support/customers/user/{person.pk}/",
    ]
    for page in pages:
        assert Client().get(page)["Location"].startswith("/en/admin/login/")
    outsider, _ = staff_client(*EDIT, is_staff=False)
    assert all(outsider.get(page).status_code == 302 for page in pages)
    bare, _ = staff_client()
    assert all(bare.get(page).status_code == 403 for page in pages)
    assert not CustomerFile.objects.exists()
    reader, _ = staff_client(*READ)
    assert all(reader.get(page).status_code == 200 for page in pages)
    file = CustomerFile.objects.get(organisation=acme)
    assert reader.post(act(file, "update"), {"plan": "team"}).status_code == 403
    assert reader.post(act(file, "contact"), {"name": "Eve"}).status_code == 403
    assert reader.post(act(file, "note"), {"note": "x"}).status_code == 403
    assert bare.post(act(file, "note"), {"note": "x"}).status_code == 403
    file.refresh_from_db()
    assert file.plan == "free" and not file.contacts.exists() and not file.notes.exists()
    page = reader.get(file_page(acme)).content.decode()
    assert 'id="customer-update"' not in page and 'id="customer-note"' not in page


def test_the_file_shows_contract_seats_contacts_notes_and_only_this_customers_timeline(acme, rival):
    ticket = ticket_from("member@acme.example", "Forty more cards for Acme")
    rival_ticket = ticket_from("rival@other.example", "Rival wants a quote")
    owner = acme.memberships.get(role="owner").user
    complaint = complaint_of(owner, "The invoice counts 3 seats too many.")
    rival_complaint = complaint_of(rival.memberships.get().user, "Rival's complaint.")
    request = rights_request_of("OWNER@acme.example")
    rival_request = rights_request_of("rival@other.example")
    incident = incident_save(
        incident=Incident(
            title="Misdirected export",
            nature="n",
            people_categories="p",
            record_categories="r",
            consequences="c",
            measures="m",
            affected_emails="member@acme.example\n",
        )
    )
    editor, _ = staff_client(*EDIT)
    assert editor.get(file_page(acme)).status_code == 200
    file = CustomerFile.objects.get(organisation=acme)
    update = {
        "plan": "business",
        "contract_reference": "ACME-2025-01",
        "seats": "5",
        "contract_start": "2025-01-01",
        "renewal_date": "2026-01-01",
    }
    assert editor.post(act(file, "update"), update).status_code == 302
    contact = {"name": "Paula Purchase", "role": "Buyer", "email": "paula@acme.example", "phone": "+33 1 23"}
    assert editor.post(act(file, "contact"), contact).status_code == 302
    assert editor.post(act(file, "note"), {"note": "Wants an invoice per department."}).status_code == 302

    page = editor.get(file_page(acme)).content.decode()
    for shown in ("Business", "ACME-2025-01", "2 of 5 in use", "Paula Purchase", "paula@acme.example"):
        assert shown in page, shown
    assert "Wants an invoice per department." in page
    timeline = page.split('id="customer-timeline"')[1].split("</ol>")[0]
    assert f'href="/en/admin/support/desk/{ticket.pk}/"' in timeline
    assert f'href="/en/admin/support/complaints/{complaint.pk}/"' in timeline
    assert f'href="/en/admin/privacy/rightsrequest/{request.pk}/change/"' in timeline
    assert f'href="/en/admin/privacy/incident/{incident.pk}/change/"' in timeline
    assert "Forty more cards for Acme" in timeline and request.reference in timeline
    assert rival_ticket.subject not in timeline and rival_request.reference not in timeline
    assert f"/complaints/{rival_complaint.pk}/" not in timeline
    rival_page = editor.get(file_page(rival)).content.decode()
    assert rival_ticket.subject in rival_page and ticket.subject not in rival_page


def test_an_unverified_address_does_not_pull_another_persons_ticket():
    # Someone signed up with Camille's address and never confirmed it: Camille's request is not theirs.
    squatter = UserFactory(email="camille@example.net", unverified=True)
    owner = UserFactory(email="dominique@example.net")
    ticket_from("camille@example.net", "Camille's own question")
    mine = ticket_from("dominique@example.net", "Dominique's question")
    reader, _ = staff_client(*READ)
    squatter_page = reader.get(f"/en/admin/support/customers/user/{squatter.pk}/").content.decode()
    assert "Camille&#x27;s own question" not in squatter_page and "Nothing on record" in squatter_page
    owner_page = reader.get(f"/en/admin/support/customers/user/{owner.pk}/").content.decode()
    assert f"/en/admin/support/desk/{mine.pk}/" in owner_page


def test_opening_a_file_writes_who_read_which_file_to_the_security_log(acme):
    reader, staff = staff_client(*READ)
    reader.get("/en/admin/support/customers/?q=acme")
    assert not SecurityEvent.objects.filter(action="support.customer_file.viewed").exists()
    reader.get(file_page(acme))
    event = SecurityEvent.objects.get(action="support.customer_file.viewed")
    file = CustomerFile.objects.get(organisation=acme)
    assert event.actor_id == staff.pk and event.data == {"customer_file": file.pk, "kind": "org"}


def test_the_search_finds_organisations_and_people_by_name_address_and_short_name(acme, rival):
    reader, _ = staff_client(*READ)
    page = reader.get("/en/admin/support/customers/?q=acme").content.decode()
    assert file_page(acme) in page and file_page(rival) not in page
    assert "owner@acme.example" in page and "rival@other.example" not in page
    page = reader.get(f"/en/admin/support/customers/?q={rival.slug}").content.decode()
    assert file_page(rival) in page and file_page(acme) not in page


def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(acme, english):
    file = services.customer_file_open(organisation=acme)
    refused = [
        ({"seats": -3}, "seats"),
        ({"seats": 0}, "seats"),
        ({"seats": "12"}, "seats"),
        ({"plan": "platinum"}, "plan"),
        ({"contract_reference": "x" * 65}, "contract_reference"),
        ({"contract_start": date(2025, 6, 1), "renewal_date": date(2025, 5, 31)}, "renewal_date"),
        ({"relationship_ended_at": START + timedelta(days=36500)}, "relationship_ended_at"),
    ]
    for changes, field in refused:
        with pytest.raises(ValidationError) as error:
            services.customer_file_update(file=file, changes={"plan": "team", **changes})
        assert field in error.value.message_dict, changes
    with pytest.raises(ValidationError):
        services.customer_file_update(file=file, changes={"name": "Other name"})
    with pytest.raises(ValidationError) as error:
        services.customer_note_add(file=file, author=None, body="x" * 5001)
    assert "5,000" in error.value.message_dict["body"][0]
    with pytest.raises(ValidationError):
        services.customer_note_add(file=file, author=None, body="   ")
    with pytest.raises(ValidationError) as error:
        services.customer_contact_add(file=file, name="Eve", email="not-an-address", phone="call me")
    assert set(error.value.message_dict) == {"email", "phone"}
    with pytest.raises(ValidationError):
        services.customer_file_open(organisation=acme, user=UserFactory())
    file.refresh_from_db()
    assert file.plan == "free" and file.seats is None and file.contract_reference == ""
    assert not CustomerNote.objects.exists() and not CustomerContact.objects.exists()

    editor, _ = staff_client(*EDIT)
    bad = {"plan": "team", "contract_start": "2025-06-01", "renewal_date": "2025-05-01"}
    response = editor.post(act(file, "update"), bad)
    assert response.status_code == 400
    assert "The renewal date cannot come before the contract start." in response.content.decode()
    assert editor.post(act(file, "update"), {"plan": "team", "seats": "-1"}).status_code == 400
    assert editor.post(act(file, "note"), {"note": "x" * 5001}).status_code == 400
    assert editor.post(act(file, "contact"), {"name": "Eve", "email": "nope"}).status_code == 400
    file.refresh_from_db()
    assert file.plan == "free" and file.contract_start is None
    assert not CustomerNote.objects.exists() and not CustomerContact.objects.exists()


def test_deleting_the_organisation_or_the_account_ends_the_relationship_and_keeps_the_file(acme):
    file = services.customer_file_open(organisation=acme)
    person = UserFactory(full_name="Ines Individual")
    individual = services.customer_file_open(user=person)
    with at(START):
        acme.delete()
        person.delete()
    file.refresh_from_db()
    individual.refresh_from_db()
    assert file.organisation_id is None and file.relationship_ended_at == START and file.name == "Acme"
    assert individual.user_id is None and individual.relationship_ended_at == START
    with pytest.raises(ValidationError):
        services.customer_file_update(file=file, changes={"relationship_ended_at": None})
    reader, _ = staff_client(*READ)
    listing = reader.get("/en/admin/support/customers/?q=acme").content.decode()
    assert f"/en/admin/support/customers/file/{file.pk}/" in listing
    assert "Acme" in reader.get(f"/en/admin/support/customers/file/{file.pk}/").content.decode()


def test_staff_end_a_contract_and_the_file_is_deleted_3_years_later_with_its_contacts_and_notes(acme, rival):
    staff = UserFactory(is_staff=True)
    with at(START):
        ended = services.customer_file_open(organisation=acme)
        services.customer_file_update(file=ended, changes={"relationship_ended_at": START}, actor=staff)
        services.customer_contact_add(file=ended, name="Paula", email="paula@acme.example")
        services.customer_note_add(file=ended, author=staff, body="Left for a competitor.")
        ongoing = services.customer_file_open(organisation=rival)
    with at(START + timedelta(days=3 * 365)):
        assert retention_sweep()["support.customer_files"] == 0
    assert CustomerFile.objects.filter(pk=ended.pk).exists()
    with at(START + timedelta(days=3 * 365 + 1)):
        assert retention_sweep()["support.customer_files"] == 1
    assert list(CustomerFile.objects.all()) == [ongoing]
    assert not CustomerContact.objects.exists() and not CustomerNote.objects.exists()


def test_the_register_declares_customer_files_for_the_relationship_plus_3_years(english):
    activity = registry.activities["support.customer_files"]
    assert activity.legal_basis == "contract" and "legitimate interest" in str(activity.legal_basis_detail)
    assert activity.retention.period == timedelta(days=3 * 365) and activity.retention.apply
    assert "3 years after it ends" in str(activity.retention.description)


def test_the_persons_file_notes_and_contacts_are_exported_and_erased(acme):
    person = UserFactory(email="camille@example.net")
    staff = UserFactory(is_staff=True, email="agent@tessera.example")
    file = services.customer_file_open(user=person)
    services.customer_file_update(file=file, changes={"plan": "team", "seats": 1})
    services.customer_note_add(file=file, author=staff, body="Asked for a yearly invoice.")
    acme_file = services.customer_file_open(organisation=acme)
    services.customer_contact_add(
        file=acme_file, name="Camille", role="Accountant", email="Camille@example.net"
    )
    services.customer_contact_add(file=acme_file, name="Someone else", email="else@acme.example")
    services.customer_note_add(file=acme_file, author=staff, body="Acme's note.")

    export = export_build(Subject(email="camille@example.net", user_ids=[person.pk]))
    sections = {
        s["category"]: s for s in export.data["sections"] if s["activity"] == "support.customer_files"
    }
    [row] = sections["customer_file"]["rows"]
    assert row["plan"] == "team" and [n["text"] for n in row["internal_notes"]] == [
        "Asked for a yearly invoice."
    ]
    assert [(c["customer"], c["role"]) for c in sections["customer_contacts"]["rows"]] == [
        ("Acme", "Accountant")
    ]

    privacy_services.rights_erase(email="camille@example.net", channel="email")
    assert not CustomerFile.objects.filter(pk=file.pk).exists()
    assert list(CustomerContact.objects.values_list("name", flat=True)) == ["Someone else"]
    assert list(CustomerNote.objects.values_list("body", flat=True)) == ["Acme's note."]
    # The staff member who wrote the notes asks for erasure: their notes stay, unsigned.
    privacy_services.rights_erase(email="agent@tessera.example", channel="email")
    assert CustomerNote.objects.get().author_id is None


def test_an_organisations_file_shows_which_dpa_version_was_accepted_when_and_by_whom(acme):
    reader, _ = staff_client(*READ)
    assert "Not accepted yet." in reader.get(file_page(acme)).content.decode()
    owner = acme.memberships.get(role="owner").user
    with at(START):
        dpa_accept(organisation=acme, user=owner, name="Olga Owner", role="Chief executive")
    section = (
        reader.get(file_page(acme)).content.decode().split('id="customer-dpa"')[1].split("</section>")[0]
    )
    assert (
        "Version 1 accepted on March 3, 2025 by Olga Owner (Chief executive, owner@acme.example)." in section
    )
    assert "Up to date" in section


def test_an_account_anonymised_for_inactivity_ends_the_individuals_relationship():
    person = UserFactory()
    file = services.customer_file_open(user=person)
    with at(START):
        account_anonymise(user=person)
    file.refresh_from_db()
    assert file.user_id == person.pk and file.relationship_ended_at == START
    # Still reachable from the desk among former customers, under the name it had.
    reader, _ = staff_client(*READ)
    assert (
        f"/en/admin/support/customers/file/{file.pk}/"
        in reader.get("/en/admin/support/customers/").content.decode()
    )
    page = reader.get(f"/en/admin/support/customers/file/{file.pk}/").content.decode()
    assert file.name in page and "anonymised-" not in page.split("<h1>")[1].split("</h1>")[0]
