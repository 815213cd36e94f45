"""Leads are never visible to another user or organisation: every view and endpoint, two organisations."""

import csv
import io

import pytest

from tessera.cards import services
from tessera.cards.models import Lead
from tests.factories import UserFactory

from .conftest import lead_for


@pytest.fixture
def lead(card):
    return lead_for(card, company="Acme", name="Vera Visitor")


@pytest.fixture
def other_lead(other_card):
    return lead_for(other_card, email="x@other.example", name="Xavier Other")


def test_owner_lists_searches_edits_exports_and_deletes_leads(client, member, lead):
    client.force_login(member)
    page = client.get("/cards/leads/").content.decode()
    assert "Vera Visitor" in page
    assert "Vera Visitor" in client.get("/cards/leads/?q=acme").content.decode()
    assert "Vera Visitor" not in client.get("/cards/leads/?q=nomatch").content.decode()
    response = client.post(
        f"/cards/leads/{lead.pk}/", {"status": "contacted", "tags": "fair, hot", "notes": "Call back"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.status, lead.tags, lead.notes) == ("contacted", ["fair", "hot"], "Call back")
    assert "Vera" in client.get("/cards/leads/?tag=hot&status=contacted").content.decode()
    assert "Vera" not in client.get("/cards/leads/?tag=cold").content.decode()
    export = client.get("/cards/leads/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [r["name"] for r in rows] == ["Vera Visitor"] and rows[0]["tags"] == "fair, hot"
    assert client.post(f"/cards/leads/{lead.pk}/delete/").status_code == 302
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_csv_export_neutralises_formulas(client, member, card):
    lead_for(card, name='=HYPERLINK("http://evil")')
    client.force_login(member)
    assert "'=HYPERLINK" in client.get("/cards/leads/export.csv").content.decode()


def test_bad_status_is_refused(member, lead):
    with pytest.raises(Exception, match="Unknown status"):
        services.lead_update(lead=lead, status="bogus")


@pytest.mark.parametrize("who", ["other_admin", "stranger", "admin_without_sharing"])
def test_leads_are_invisible_to_everyone_else(client, who, lead, other_lead, admin_user, other_admin, db):
    viewer = {"other_admin": other_admin, "admin_without_sharing": admin_user}.get(who) or UserFactory(
        email="s@x.example"
    )
    client.force_login(viewer)
    assert "Vera" not in client.get("/cards/leads/").content.decode()
    assert "vera@example" not in client.get("/cards/leads/?q=Vera").content.decode()
    assert "Vera" not in client.get("/cards/leads/export.csv").content.decode()
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 404
    assert client.post(f"/cards/leads/{lead.pk}/", {"status": "closed"}).status_code == 404
    assert client.post(f"/cards/leads/{lead.pk}/delete/").status_code == 404
    lead.refresh_from_db()
    assert lead.status == "new"
    assert client.get(f"/cards/org/{lead.organisation.slug}/leads/").status_code == 404


def test_admin_sees_member_leads_only_when_the_organisation_allows(client, admin_user, org, lead, other_lead):
    client.force_login(admin_user)
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 404
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 200
    assert "Vera" in client.get(f"/cards/org/{org.slug}/leads/").content.decode()
    assert "Xavier" not in client.get(f"/cards/org/{org.slug}/leads/").content.decode()
    assert client.get(f"/cards/leads/{other_lead.pk}/").status_code == 404


def test_api_lead_export_is_per_organisation(
    client, org, other_org, lead, other_lead, api_key, other_api_key
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    assert client.get("/api/v1/cards/leads", **headers).status_code == 403  # not shared by the organisation
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    services.cards_settings_update(organisation=other_org, admins_see_leads=True, inactive_action="delete")
    names = [row["name"] for row in client.get("/api/v1/cards/leads", **headers).json()]
    assert names == ["Vera Visitor"]
    other = [
        row["name"]
        for row in client.get("/api/v1/cards/leads", HTTP_AUTHORIZATION=f"Bearer {other_api_key}").json()
    ]
    assert other == ["Xavier Other"]
    assert client.get("/api/v1/cards/leads").status_code == 401
    assert client.get("/api/v1/cards/leads", HTTP_AUTHORIZATION="Bearer tsk_forged_key").status_code == 401


def test_private_space_views_of_another_card_or_organisation_are_404(
    client, member, card, other_card, other_org, org
):
    client.force_login(member)
    for url in (
        f"/cards/card/{other_card.slug}/",
        f"/cards/card/{other_card.slug}/edit/",
        f"/cards/org/{other_org.slug}/",
        f"/cards/org/{other_org.slug}/invite/",
        f"/cards/org/{other_org.slug}/import/",
        f"/cards/org/{other_org.slug}/templates/new/",
        f"/cards/org/{other_org.slug}/cards/{other_card.slug}/",
        f"/cards/org/{other_org.slug}/integrations/",
        f"/cards/org/{org.slug}/",  # a plain member does not administer
        f"/cards/org/{org.slug}/integrations/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/cards/card/{other_card.slug}/active/",
        f"/cards/org/{other_org.slug}/settings/",
        f"/cards/org/{other_org.slug}/import/confirm/",
        f"/cards/org/{other_org.slug}/integrations/",
    ):
        assert client.post(url, {"active": "0", "csv_text": "email\nz@z.example\n"}).status_code == 404, url
    other_card.refresh_from_db()
    assert other_card.is_active
    client.logout()
    assert client.get("/cards/").status_code == 302
    assert client.get("/cards/leads/").status_code == 302


def test_csv_export_neutralises_formulas_in_every_column(client, member, card):
    lead = lead_for(card, name="Vera", message="-1+1|cmd", company="@SUM(A1)")
    services.lead_update(lead=lead, status=lead.status, tags=["+x"], notes='  =HYPERLINK("http://evil")')
    client.force_login(member)
    (row,) = csv.DictReader(io.StringIO(client.get("/cards/leads/export.csv").content.decode()))
    assert (row["message"], row["company"], row["tags"]) == ("'-1+1|cmd", "'@SUM(A1)", "'+x")
    assert row["notes"] == '\'  =HYPERLINK("http://evil")'
