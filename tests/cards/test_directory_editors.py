"""Directory-fed fields in the editors: read-only for the member, written back from the central member editor."""

import json
import re

import pytest
import vobject
from django.core.exceptions import ValidationError
from django.db import transaction

from tessera.accounts import hooks
from tessera.cards import privacy, services
from tessera.privacy.register import Subject

from .test_directory import LOCKED, SOURCE, VALUES

EDITABLE = ("job_title", "department", "office", "phones")


@pytest.fixture
def written_back(monkeypatch):
    """A stand-in directory on the write-back hook: records what it is handed, and whether in a transaction."""
    calls = []

    def receiver(*, membership, changes, actor):
        calls.append(
            {
                "member": membership.user_id,
                "changes": changes,
                "actor": actor,
                "atomic": transaction.get_connection().in_atomic_block,
            }
        )

    monkeypatch.setattr(hooks.directory_fields_edited, "_receivers", [receiver])
    return calls


@pytest.fixture
def fed(card):
    """Bob's card, fed by Entra ID."""
    hooks.member_synced.send(
        membership=card.owner.memberships.get(organisation=card.organisation),
        values=VALUES | {"first_name": "Bob", "last_name": "Builder"},
        locked=LOCKED,
        source=SOURCE,
        template=None,
        groups=[],
        active=True,
        dry_run=False,
    )
    card.refresh_from_db()
    return card


def _tag(html: str, name: str) -> str:
    return re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', html).group(0)


def _edit_page(client, card) -> str:
    return client.get(f"/cards/card/{card.slug}/edit/").content.decode()


def test_the_member_s_editor_shows_fed_fields_read_only_with_their_source(client, member, fed):
    client.force_login(member)
    html = _edit_page(client, fed)
    assert html.count(f"Kept in step with {SOURCE}.") >= len(LOCKED) - 1  # the phone slots share one note
    for name in ("job_title", "office", "first_name", "phone_0_number"):
        assert " disabled" in _tag(html, name), name
    assert " disabled" not in _tag(html, "bio") and " disabled" not in _tag(html, "website")


def test_the_member_s_editor_ignores_and_the_service_refuses_changes_to_fed_fields(client, member, fed):
    client.force_login(member)
    response = client.post(
        f"/cards/card/{fed.slug}/edit/",
        {
            "first_name": "Robert",
            "job_title": "Boss",
            "office": "Home",
            "bio": "Hello",
            "phone_0_number": "+33 1 23 45 67 89",
        }
        | {
            f"visibility_{n}": "public"
            for n in ("job_title", "company", "department", "bio", "website", "address", "photo")
        },
    )
    assert response.status_code == 302
    fed.refresh_from_db()
    assert (fed.first_name, fed.job_title, fed.office, fed.bio) == (
        "Bob",
        "Buyer",
        "Building B, floor 3",
        "Hello",
    )
    for changes in ({"job_title": "Boss"}, {"phones": []}, {"first_name": "Robert"}):
        with pytest.raises(ValidationError) as error:
            services.card_update(card=fed, changes=changes, actor=member)
        assert SOURCE in str(error.value.message_dict)
    services.card_update(
        card=fed, changes={"job_title": "Buyer", "bio": "Hi"}, actor=member
    )  # unchanged is fine


def test_an_admin_s_edit_of_job_details_goes_to_the_directory_in_the_same_transaction(
    client, admin_user, org, fed, written_back
):
    client.force_login(admin_user)
    page = client.get(f"/cards/org/{org.slug}/cards/{fed.slug}/").content.decode()
    assert f"kept in step with {SOURCE}" in page
    response = client.post(
        f"/cards/org/{org.slug}/cards/{fed.slug}/",
        {
            "template": "",
            "groups": "",
            "job_title": "Head buyer",
            "department": "Purchasing",
            "office": "Tower A",
            "phones": "work +33472000000\nmobile +33 6 99 88 77 66",
        },
    )
    assert response.status_code == 302
    fed.refresh_from_db()
    assert (fed.job_title, fed.office) == ("Head buyer", "Tower A")
    (call,) = written_back
    assert call["actor"] == admin_user and call["atomic"] and call["member"] == fed.owner_id
    assert call["changes"] == {
        "job_title": "Head buyer",
        "office": "Tower A",
        "phones": [
            {"kind": "work", "number": "+33472000000", "public": True},
            {"kind": "mobile", "number": "+33699887766", "public": True},
        ],
    }


def test_a_refusal_of_the_directory_rolls_the_admin_s_edit_back(client, admin_user, org, fed, monkeypatch):
    def refuse(**kwargs):
        raise ValidationError(
            "These fields come from a directory Tessera cannot write to: change them there."
        )

    monkeypatch.setattr(hooks.directory_fields_edited, "_receivers", [refuse])
    client.force_login(admin_user)
    response = client.post(
        f"/cards/org/{org.slug}/cards/{fed.slug}/", {"template": "", "groups": "", "job_title": "Head buyer"}
    )
    assert response.status_code == 400 and "cannot write to" in response.content.decode()
    fed.refresh_from_db()
    assert fed.job_title == "Buyer"


def test_without_a_directory_receiver_the_admin_s_edit_is_just_saved(admin_user, fed, monkeypatch):
    monkeypatch.setattr(hooks.directory_fields_edited, "_receivers", [])
    card = services.card_update(card=fed, changes={"department": "Sales"}, actor=admin_user)
    assert card.department == "Sales" and card.directory_fields == sorted(LOCKED)


def test_other_fed_fields_are_refused_for_everyone_and_the_api_key_writes_none(
    client, admin_user, fed, api_key, written_back
):
    for changes in ({"first_name": "Robert"}, {"city": "Paris"}):
        with pytest.raises(ValidationError):
            services.card_update(card=fed, changes=changes, actor=admin_user)
    response = client.patch(
        f"/api/v1/cards/{fed.slug}",
        json.dumps({"job_title": "Boss"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert response.status_code == 422 and SOURCE in response.content.decode()
    fed.refresh_from_db()
    assert fed.job_title == "Buyer" and written_back == []


def test_unfed_cards_are_edited_as_before_without_write_back(client, admin_user, org, card, written_back):
    client.force_login(admin_user)
    response = client.post(
        f"/cards/org/{org.slug}/cards/{card.slug}/",
        {"template": "", "groups": "", "job_title": "Lead", "office": "HQ"},
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.job_title, card.office) == ("Lead", "HQ") and written_back == []
    assert [p["number"] for p in card.phones] == ["+33612345678"]  # not sent: kept


def test_office_shows_on_the_public_page_and_as_the_vcard_s_extended_address(client, card):
    services.card_update(card=card, changes={"office": "Building B, floor 3", "city": "Lyon"})
    html = client.get(f"/c/{card.slug}").content.decode()
    assert "Office" in html and "Building B, floor 3" in html
    vcard = vobject.readOne(client.get(f"/c/{card.slug}/vcard").content.decode())
    assert vcard.adr.value.extended == "Building B, floor 3" and vcard.adr.value.city == "Lyon"
    services.card_update(card=card, changes={"visibility": {"address": "vcard"}})
    assert "Building B" not in client.get(f"/c/{card.slug}").content.decode()


def test_office_is_in_the_rights_export_and_editable_through_the_api(client, card, member, api_key):
    response = client.patch(
        f"/api/v1/cards/{card.slug}",
        json.dumps({"office": "Tower B"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert response.status_code == 200 and response.json()["office"] == "Tower B"
    sections = {
        s.category: s.rows for s in privacy.export_subject(Subject(email=member.email, user_ids=[member.pk]))
    }
    assert [row["office"] for row in sections["cards"]] == ["Tower B"]


def test_a_directory_s_name_is_escaped_in_both_editors(client, member, admin_user, org, card):
    hostile = '<img src=x onerror="alert(1)">'
    hooks.member_synced.send(
        membership=card.owner.memberships.get(organisation=org),
        values={"job_title": "Buyer"},
        locked=("job_title",),
        source=hostile,
        template=None,
        groups=[],
        active=True,
        dry_run=False,
    )
    client.force_login(member)
    own = _edit_page(client, card)
    client.force_login(admin_user)
    central = client.get(f"/cards/org/{org.slug}/cards/{card.slug}/").content.decode()
    for html in (own, central):
        assert hostile not in html and "&lt;img src=x" in html
