"""The signature pages as people use them, in French and English: the editor, its preview, "my signature"."""

import io
import json
import zipfile

import pytest
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from tessera.cards import services as card_services
from tessera.core.models import SecurityEvent
from tessera.signatures.models import SignatureTemplate
from tests.signatures.render_support import *  # noqa: F403
from tests.signatures.render_support import STARTER_HTML, png_bytes

pytestmark = pytest.mark.django_db

LANGUAGES = [("", "fr"), ("/en", "en")]


def _upload(content: bytes, name: str):
    f = io.BytesIO(content)
    f.name = name
    return f


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(("prefix", "lang"), LANGUAGES)
def test_the_admin_creates_a_template_and_sees_every_members_signature(admin_client, org, card, prefix, lang):
    base = f"{prefix}/cards/org/{org.slug}/signatures/"
    page = admin_client.get(base)
    assert page.status_code == 200 and f'lang="{lang}"' in page.content.decode()
    assert 'class="badge badge-warning"' in page.content.decode()  # Bob has no signature yet

    editor = admin_client.get(f"{base}new/")
    assert editor.status_code == 200
    body = editor.content.decode()
    assert "{{ name }}" in body and 'name="preview-gmail"' in body and 'name="preview-outlook"' in body
    assert 'name="preview-dark"' in body

    response = admin_client.post(
        f"{base}new/",
        {"name": "House", "html": STARTER_HTML, "departments": "Sales\nSupport", "is_default": "on",
         "logo": _upload(png_bytes(), "logo.png")},
    )  # fmt: skip
    template = SignatureTemplate.objects.get(organisation=org)
    assert response.status_code == 302 and response["Location"].endswith(f"/signatures/{template.pk}/")
    assert template.departments == ["Sales", "Support"] and template.is_default and template.logo
    listing = admin_client.get(base).content.decode()
    assert "Bob Builder" in listing and "House" in listing


@pytest.mark.parametrize(("prefix", "lang"), LANGUAGES)
def test_a_refused_template_shows_why_and_changes_nothing(admin_client, org, default_template, prefix, lang):
    url = f"{prefix}/cards/org/{org.slug}/signatures/{default_template.pk}/"
    response = admin_client.post(
        url, {"name": "Broken", "html": '<p onclick="x()">{{ name }}</p><script></script>'}
    )
    assert response.status_code == 400
    body = response.content.decode()
    with translation.override(lang):
        handlers = gettext(
            "Event handlers (%(name)s) are not allowed in a signature: mail clients remove them."
        ) % {"name": "onclick"}
        scripts = gettext("Scripts are not allowed in a signature: mail clients remove them.")
    assert escape(handlers) in body and escape(scripts) in body
    assert lang == "en" or "Les scripts ne sont pas permis" in body
    default_template.refresh_from_db()
    assert default_template.name == "House style" and default_template.html == STARTER_HTML


@pytest.mark.parametrize("mode", ["gmail", "outlook", "dark"])
def test_the_live_preview_renders_the_unsaved_html_for_a_member(admin_client, org, member, card, mode):
    url = f"/en/cards/org/{org.slug}/signatures/preview/"
    response = admin_client.post(
        url, {"html": "<p>{{ name }} — {{ title }}</p>", "mode": mode, "member": member.pk}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<p>Bob Builder — Engineer</p>" in body and f'<body class="{mode}">' in body
    assert (
        "unsafe-inline" in response["Content-Security-Policy"]
        and "script-src 'none'" in response["Content-Security-Policy"]
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    sample = admin_client.post(url, {"html": "<p>{{ name }}</p>", "mode": mode}).content.decode()
    assert "<p>Camille Martin</p>" in sample
    broken = admin_client.post(url, {"html": "<form>{{ name }}</form>", "mode": mode}).content.decode()
    assert "Forms and their fields are not allowed" in broken and "<form>" not in broken


def test_the_preview_shows_no_member_of_another_organisation(admin_client, org, other_org, other_admin):
    theirs = other_admin.cards.get(organisation=other_org)
    card_services.card_update(card=theirs, changes={"first_name": "Olga", "last_name": "Secret"})
    response = admin_client.post(
        f"/cards/org/{org.slug}/signatures/preview/", {"html": "<p>{{ name }}</p>", "member": other_admin.pk}
    )
    assert "Secret" not in response.content.decode() and "Camille Martin" in response.content.decode()


@pytest.mark.parametrize(("prefix", "lang"), LANGUAGES)
def test_a_member_sees_copies_and_downloads_their_signature(
    client, org, member, photo_card, default_template, prefix, lang
):
    client.force_login(member)
    base = f"{prefix}/cards/signature/{org.slug}/"
    page = client.get(base)
    body = page.content.decode()
    assert page.status_code == 200 and f'lang="{lang}"' in body
    assert "data-signature-copy" in body and "signature.htm" in body
    assert "Bob Builder\nEngineer · Engineering\nAlpha" in body  # the plain-text version
    frame = client.get(f"{base}frame/")
    assert (
        frame.status_code == 200
        and "<strong" in frame.content.decode()
        and "Bob Builder" in frame.content.decode()
    )
    download = client.get(f"{base}signature.htm")
    assert download["Content-Disposition"] == 'attachment; filename="Alpha.htm"'
    document = download.content.decode()
    assert (
        document.startswith("<!DOCTYPE html>") and "charset=utf-8" in document and "Bob Builder" in document
    )
    assert f'<html lang="{lang}">' in document


def test_a_member_whose_card_is_off_is_told_why(client, org, member, card, default_template):
    card_services.card_set_active(card=card, active=False)
    client.force_login(member)
    body = client.get(f"/en/cards/signature/{org.slug}/").content.decode()
    assert "is not published" in body
    assert client.get(f"/en/cards/signature/{org.slug}/signature.htm").status_code == 404


def test_the_outlook_zip_holds_one_folder_per_member(admin_client, org, member, card, default_template):
    response = admin_client.get(f"/cards/org/{org.slug}/signatures/outlook.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"bob@alpha.example/Alpha.htm", "bob@alpha.example/Alpha.txt"} <= names
    assert "Bob Builder" in archive.read("bob@alpha.example/Alpha.htm").decode()
    assert archive.read("bob@alpha.example/Alpha.txt").decode("utf-8-sig").startswith("Bob Builder")
    event = SecurityEvent.objects.get(action="signatures.outlook_zip.downloaded")
    assert event.data == {"organisation": org.pk, "members": 2, "left_out": 0}  # Bob and the admin


def test_the_organisation_export_includes_its_templates(admin_client, org, default_template):
    response = admin_client.get(f"/cards/org/{org.slug}/signatures/export.json")
    data = json.loads(response.content)
    assert data["organisation"] == "Alpha"
    [exported] = data["signature_templates"]
    assert exported["name"] == "House style" and exported["html"] == STARTER_HTML and exported["is_default"]
    assert exported["logo_png_base64"].startswith("iVBOR")


def test_deleting_a_template(admin_client, org, default_template):
    response = admin_client.post(f"/cards/org/{org.slug}/signatures/{default_template.pk}/delete/")
    assert response.status_code == 302
    assert not SignatureTemplate.objects.filter(pk=default_template.pk).exists()


def test_the_personal_space_and_the_organisation_page_lead_to_the_signatures(
    client, org, admin_user, member, card
):
    client.force_login(member)
    assert f'href="/en/cards/signature/{org.slug}/"' in client.get("/en/cards/").content.decode()
    client.force_login(admin_user)
    assert (
        f'href="/cards/org/{org.slug}/signatures/"' in client.get(f"/cards/org/{org.slug}/").content.decode()
    )
