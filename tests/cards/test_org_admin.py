import io
import re

import pytest

from tessera.accounts.models import Membership
from tessera.cards import services
from tessera.cards.models import Card, CardInvitation, CardsSettings, WebhookDelivery
from tessera.core import sealing
from tessera.core.models import OutboxMessage
from tests.factories import UserFactory

from .conftest import _Receiver, brand_template, lead_for


def test_admin_creates_an_organisation_and_invites_a_member(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/cards/org/new/", {"name": "Gamma"})
    assert response.status_code == 302
    org = Membership.objects.get(user=admin_user, role="owner", organisation__name="Gamma").organisation
    response = client.post(f"/cards/org/{org.slug}/invite/", {"email": "New@Gamma.example", "role": "member"})
    assert response.status_code == 302
    mail = OutboxMessage.objects.get(kind="cards_invitation")
    assert mail.recipient == "new@gamma.example"
    assert mail.confidential  # the link is a credential: sealed at rest until sent
    link = next(
        line for line in sealing.open_text(mail.body_text).splitlines() if "/cards/invitation/" in line
    )
    client.logout()
    path = link.split("testserver", 1)[1]
    page = client.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        path,
        {
            "csrfmiddlewaretoken": token,
            "full_name": "Nina New",
            "password": "a-long-test-password",
            "age_confirmed": "on",
        },
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 302
    card = Card.objects.get(owner__email="new@gamma.example", organisation=org)
    assert response["Location"].endswith(f"/cards/card/{card.slug}/edit/")
    assert client.get(path).status_code == 404  # single use


def test_invitation_errors_are_clear(org, admin_user, member):
    with pytest.raises(Exception, match="already a member"):
        services.invitation_create(organisation=org, email=member.email, invited_by=admin_user)
    with pytest.raises(Exception, match="not a valid email"):
        services.invitation_create(organisation=org, email="nope", invited_by=admin_user)


CSV_OK = "email,first_name,last_name,job_title,department,role\nann@alpha.example,Ann,A,Buyer,Sales,member\nben@alpha.example,Ben,B,,IT,admin\n"
CSV_BAD = (
    "email,first_name,last_name,job_title,department,role\n"
    "ann@alpha.example,Ann,A,Buyer,Sales,member\n"
    "not-an-email,X,,,,member\n"
    "ann@alpha.example,Dup,,,,member\n"
    "cat@alpha.example,Cat,,,,boss\n"
)


def _upload(text, name="people.csv"):
    f = io.BytesIO(text.encode())
    f.name = name
    return f


def test_csv_import_previews_then_creates(client, admin_user, org):
    client.force_login(admin_user)
    preview = client.post(f"/cards/org/{org.slug}/import/", {"file": _upload(CSV_OK)})
    html = preview.content.decode()
    assert preview.status_code == 200 and "ann@alpha.example" in html and "ben@alpha.example" in html
    assert CardInvitation.objects.count() == 0  # nothing before confirmation
    response = client.post(f"/cards/org/{org.slug}/import/confirm/", {"csv_text": CSV_OK})
    assert response.status_code == 302
    assert sorted(CardInvitation.objects.values_list("email", "role")) == [
        ("ann@alpha.example", "member"),
        ("ben@alpha.example", "admin"),
    ]
    assert OutboxMessage.objects.filter(kind="cards_invitation").count() == 2


def test_csv_import_with_bad_rows_shows_each_error_and_creates_nothing(client, admin_user, org):
    client.force_login(admin_user)
    html = client.post(f"/cards/org/{org.slug}/import/", {"file": _upload(CSV_BAD)}).content.decode()
    assert "3 rows have errors" in html or "3 row" in html
    assert "not a valid email" in html and "appears twice" in html and "role must be member or admin" in html
    assert "Send the invitations" not in html
    response = client.post(f"/cards/org/{org.slug}/import/confirm/", {"csv_text": CSV_BAD})
    assert response.status_code == 302
    assert (
        CardInvitation.objects.count() == 0
        and not OutboxMessage.objects.filter(kind="cards_invitation").exists()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,phone\nA,1\n", "email"),
        ("email,shoe_size\na@b.example,42\n", "Unknown columns"),
        ("email\n", "no rows"),
    ],
)
def test_csv_import_rejects_malformed_files(client, admin_user, org, content, message):
    client.force_login(admin_user)
    response = client.post(f"/cards/org/{org.slug}/import/", {"file": _upload(content)})
    assert response.status_code == 400 and message in response.content.decode()


def test_non_utf8_file_is_refused(client, admin_user, org):
    client.force_login(admin_user)
    f = io.BytesIO("email\nélise@x.example\n".encode("latin-1"))
    f.name = "x.csv"
    response = client.post(f"/cards/org/{org.slug}/import/", {"file": f})
    assert response.status_code == 400 and "UTF-8" in response.content.decode()


def test_dashboard_shows_cards_and_svg_charts(client, admin_user, org, card):
    client.get(f"/c/{card.slug}?s=qr")
    from tessera.cards.analytics import stats_flush

    stats_flush()
    client.force_login(admin_user)
    html = client.get(f"/cards/org/{org.slug}/").content.decode()
    assert "Bob Builder" in html and '<svg class="chart"' in html and 'class="bar"' in html
    assert "style=" not in html.split("<main", 1)[1]
    mine = client.get("/cards/").content.decode()
    assert '<svg class="chart"' in mine


def test_template_editor_with_live_preview(client, admin_user, org):
    client.force_login(admin_user)
    page = client.get(f"/cards/org/{org.slug}/templates/new/").content.decode()
    assert 'id="template-preview"' in page and "template-preview.js" in page
    data = {
        "name": "HQ",
        "primary_colour": "#0b5394",
        "background_colour": "#ffffff",
        "text_colour": "#111111",
        "font": "serif",
        "layout": "centered",
        "lock_company": "Alpha SAS",
        "departments": "Sales, IT",
    }
    assert client.post(f"/cards/org/{org.slug}/templates/new/", data).status_code == 302
    bad = client.post(f"/cards/org/{org.slug}/templates/new/", data | {"text_colour": "#fefefe"})
    assert bad.status_code == 400 and "contrast" in bad.content.decode()


# --- API and webhooks ---------------------------------------------------------------------------------


def _auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_api_creates_reads_updates_and_deactivates_cards(client, org, member, api_key, other_api_key, card):
    listed = client.get("/api/v1/cards/", **_auth(api_key)).json()
    assert card.slug in [c["slug"] for c in listed]
    assert card.slug not in [c["slug"] for c in client.get("/api/v1/cards/", **_auth(other_api_key)).json()]
    assert client.get(f"/api/v1/cards/{card.slug}", **_auth(other_api_key)).status_code == 404
    response = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"job_title": "Lead", "phones": [{"kind": "work", "number": "+33 1 23 45 67 89"}]},
        content_type="application/json",
        **_auth(api_key),
    )
    assert response.status_code == 200 and response.json()["phones"][0]["number"] == "+33123456789"
    refused = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"website": "javascript:x"},
        content_type="application/json",
        **_auth(api_key),
    )
    assert refused.status_code == 422 and "body.website" in refused.json()["errors"]  # the documented pattern
    bad = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"website": "https://"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
        **_auth(api_key),
    )
    assert bad.status_code == 422 and "adresse web valide" in bad.json()["errors"]["website"][0]
    assert client.post(f"/api/v1/cards/{card.slug}/deactivate", **_auth(other_api_key)).status_code == 404
    assert client.post(f"/api/v1/cards/{card.slug}/deactivate", **_auth(api_key)).json()["is_active"] is False
    assert client.get(f"/c/{card.slug}").status_code == 404
    created = client.post(
        "/api/v1/cards/",
        {"owner_email": member.email, "first_name": "X"},
        content_type="application/json",
        **_auth(api_key),
    )
    assert created.status_code == 422 and "already has a card" in created.json()["detail"]
    stranger = client.post(
        "/api/v1/cards/",
        {"owner_email": "admin@beta.example"},
        content_type="application/json",
        **_auth(api_key),
    )
    assert stranger.status_code == 422


@pytest.mark.parametrize("language", ["", "en", "fr", "de"])
def test_api_answers_an_unknown_address_and_a_non_member_alike(client, org, other_admin, api_key, language):
    """Same status, same body, same language: the answer does not tell whether the address has an account."""
    answers = [
        client.post(
            "/api/v1/cards/",
            {"owner_email": address, "first_name": "X"},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE=language,
            **_auth(api_key),
        )
        for address in (other_admin.email, "nobody-at-all@beta.example")
    ]
    assert answers[0].status_code == answers[1].status_code == 422
    assert answers[0].content == answers[1].content
    assert answers[0].json()["errors"] == {"owner_email": [answers[0].json()["errors"]["owner_email"][0]]}
    assert not Card.objects.filter(owner=other_admin, organisation=org).exists()


def test_api_card_create_for_a_member_without_card(client, org, admin_user, api_key):
    user = services.invitation_accept(
        invitation=services.invitation_create(
            organisation=org, email="c@alpha.example", invited_by=admin_user
        ),
        password="a-long-test-password",
    )[0]
    Card.objects.filter(owner=user).delete()
    response = client.post(
        "/api/v1/cards/",
        {"owner_email": "c@alpha.example", "first_name": "Cleo", "emails": [{"address": "c@alpha.example"}]},
        content_type="application/json",
        **_auth(api_key),
    )
    assert response.status_code == 201 and response.json()["first_name"] == "Cleo"


def test_webhook_is_signed_and_retried_until_delivered(client, org, card, api_key, receiver):
    import hashlib
    import hmac
    import json
    from datetime import timedelta

    from django.utils import timezone

    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    created = client.post(
        "/api/v1/cards/webhooks", {"url": receiver}, content_type="application/json", **_auth(api_key)
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    lead = lead_for(card, name="Hook <Visitor>")
    delivery = WebhookDelivery.objects.get()
    assert services.webhook_deliver(delivery_id=delivery.pk) is False  # the receiver answers 503 once
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and "503" in delivery.last_error
    assert services.webhook_deliver_due() == 0  # not due yet: backed off
    assert services.webhook_deliver_due(now=timezone.now() + timedelta(minutes=5)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    headers, body = _Receiver.received[0]
    timestamp, mac = (part.split("=", 1)[1] for part in headers["Tessera-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    assert json.loads(body)["lead"]["id"] == str(lead.pk)
    assert json.loads(body)["lead"]["name"] == "Hook <Visitor>"


def test_webhooks_are_per_organisation(client, org, other_org, api_key, other_api_key):
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    hook = services.webhook_create(organisation=org, url="https://crm.alpha.example/h")
    assert client.get("/api/v1/cards/webhooks", **_auth(other_api_key)).json() == []
    assert client.delete(f"/api/v1/cards/webhooks/{hook.pk}", **_auth(other_api_key)).status_code == 404
    assert client.delete(f"/api/v1/cards/webhooks/{hook.pk}", **_auth(api_key)).status_code == 204


def test_an_individual_creates_a_personal_card(client, db):

    user = UserFactory(email="solo@example.net", full_name="Sam Solo")
    client.force_login(user)
    assert "Create my personal card" in client.get("/cards/").content.decode()
    response = client.post("/cards/new/")
    card = Card.objects.get(owner=user)
    assert response["Location"].endswith(f"/cards/card/{card.slug}/edit/")
    assert (card.first_name, card.last_name, card.organisation) == ("Sam", "Solo", None)
    assert client.get(f"/cards/card/{card.slug}/").status_code == 200
    assert client.get(f"/en/cards/card/{card.slug}/edit/").status_code == 200
    # A second click (or a second tab) finds the card: one personal card per account.
    again = client.post("/cards/new/", follow=True)
    assert "You already have a personal card." in again.content.decode()
    assert Card.objects.filter(owner=user).count() == 1
    with pytest.raises(services.PersonalCardExists):
        services.personal_card_create(owner=user)


def test_admin_assigns_a_template_and_deactivates_a_member_card(client, admin_user, org, card):
    template = brand_template(
        org,
        "Booth",
        layout="banner",
    )
    client.force_login(admin_user)
    response = client.post(
        f"/cards/org/{org.slug}/cards/{card.slug}/",
        {"template": template.pk, "groups": "booth, fair", "active": "0"},
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.template, card.groups, card.is_active) == (template, ["booth", "fair"], False)
    assert client.get(f"/c/{card.slug}").status_code == 404


def test_reading_the_dashboard_writes_no_settings(client, org, admin_user):
    # An organisation from before the settings existed: the page shows defaults and leaves the table alone.
    CardsSettings.objects.filter(organisation=org).delete()
    client.force_login(admin_user)
    response = client.get(f"/cards/org/{org.slug}/")
    assert response.status_code == 200
    assert not CardsSettings.objects.filter(organisation=org).exists()
