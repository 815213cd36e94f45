import io

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from PIL import Image

from tessera.cards import services
from tessera.cards.images import photo_variants
from tessera.cards.models import Card

from .conftest import brand_template, jpeg_bytes


@pytest.mark.parametrize("number", ["12345", "+33 1", "06 12 34 56 78", "+1 555 CALL NOW", "<script>"])
def test_malformed_phone_numbers_are_refused_with_a_message(card, number):
    with pytest.raises(ValidationError) as error:
        services.card_update(
            card=card, changes={"phones": [{"kind": "work", "number": number}], "first_name": "Changed"}
        )
    assert "international format" in str(error.value)
    card.refresh_from_db()
    assert card.first_name == "Bob"  # nothing partial


def test_phone_numbers_are_stored_as_e164(card):
    card = services.card_update(
        card=card, changes={"phones": [{"kind": "work", "number": "+44 20 7946 0958", "public": False}]}
    )
    assert card.phones == [{"kind": "work", "number": "+442079460958", "public": False}]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "not a url", "ftp://x.example", "http//x"])
def test_malformed_urls_are_refused(card, url):
    with pytest.raises(ValidationError, match="valid web address"):
        services.card_update(card=card, changes={"links": [{"label": "Site", "url": url}]})
    with pytest.raises(ValidationError, match="valid web address"):
        services.card_update(card=card, changes={"website": url})


def test_photo_is_resized_and_stripped_of_exif(card):
    data = jpeg_bytes(size=(1200, 900), exif=True)
    assert Image.open(io.BytesIO(data)).getexif()
    card = services.card_photo_set(card=card, data=data, filename="me.jpg")
    for blob, size in ((card.photo, 512), (card.photo_small, 256)):
        image = Image.open(io.BytesIO(bytes(blob)))
        assert image.format == "JPEG" and image.size == (size, size)
        assert not image.getexif() and "exif" not in image.info
        assert b"SecretCam" not in bytes(blob)


def test_png_with_transparency_is_accepted(card):
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert services.card_photo_set(card=card, data=out.getvalue(), filename="me.png").photo_version


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "me.jpg", "not a valid"),
        (b"GIF89a" + b"\x00" * 100, "me.gif", "not a valid"),
        (jpeg_bytes(fmt="PNG"), "me.jpg", "really a PNG"),
        (jpeg_bytes()[:200], "me.jpg", "not a valid"),
        (b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024 + 10), "big.jpg", "too large"),
    ],
)
def test_bad_images_are_refused_and_leave_no_photo(card, data, name, message):
    with pytest.raises(ValidationError, match=message):
        services.card_photo_set(card=card, data=data, filename=name)
    card.refresh_from_db()
    assert not card.photo_version


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused():
    image = Image.new("1", (10000, 10000))
    out = io.BytesIO()
    image.save(out, format="PNG")
    with pytest.raises(ValidationError, match="too many pixels"):
        photo_variants(out.getvalue(), "bomb.png")


def test_photo_upload_view_shows_the_error(client, member, card):
    client.force_login(member)
    upload = io.BytesIO(b"definitely not an image")
    upload.name = "me.png"
    response = client.post(f"/cards/card/{card.slug}/edit/", {"photo": upload})
    assert response.status_code == 400
    assert "not a valid JPEG, PNG or WebP" in response.content.decode()


def _form_data(card, **overrides):
    data = {
        f"visibility_{n}": "public"
        for n in ("job_title", "company", "department", "bio", "website", "address", "photo")
    }
    data |= {"first_name": card.first_name, "last_name": card.last_name, "job_title": card.job_title}
    return data | overrides


def test_profile_edit_view_saves_lists_and_visibility(client, member, card):
    client.force_login(member)
    data = _form_data(
        card,
        phone_0_kind="mobile",
        phone_0_number="+33 6 11 22 33 44",
        phone_0_public="on",
        phone_1_kind="personal",
        phone_1_number="+33 6 99 88 77 66",
        link_0_label="LinkedIn",
        link_0_url="https://www.linkedin.com/in/bob",
        link_0_public="on",
        custom_0_label="Languages",
        custom_0_value="FR, EN",
        custom_0_public="on",
        visibility_bio="vcard",
        bio="Private bio",
    )
    assert client.post(f"/cards/card/{card.slug}/edit/", data).status_code == 302
    card.refresh_from_db()
    assert [p["number"] for p in card.phones] == ["+33611223344", "+33699887766"]
    assert card.visibility["bio"] == "vcard"
    page = client.get(f"/c/{card.slug}").content.decode()
    assert "+33611223344" in page and "+33699887766" not in page and "Private bio" not in page
    vcard = client.get(f"/c/{card.slug}/vcard").content.decode()
    assert "+33699887766" in vcard and "Private bio" in vcard


def test_profile_edit_view_reports_bad_phone_and_keeps_the_card(client, member, card):
    client.force_login(member)
    response = client.post(
        f"/cards/card/{card.slug}/edit/", _form_data(card, phone_0_number="12", first_name="Changed")
    )
    assert response.status_code == 400
    assert "international format" in response.content.decode()
    assert Card.objects.get(pk=card.pk).first_name == "Bob"


@pytest.fixture
def locked_template(org):
    return brand_template(
        org,
        "HQ",
        is_default=True,
        locked_values={"company": "Alpha SAS", "street": "1 rue de la Paix", "city": "Paris"},
    )


def test_brand_lock_applies_everywhere_and_cannot_be_changed(client, member, card, locked_template, api_key):
    page = client.get(f"/c/{card.slug}").content.decode()
    assert "Alpha SAS" in page and "1 rue de la Paix" in page
    assert "Alpha SAS" in client.get(f"/c/{card.slug}/vcard").content.decode()
    with pytest.raises(
        ValidationError, match=r"Your organisation sets this field|défini par votre organisation"
    ):
        services.card_update(card=card, changes={"company": "Rogue Ltd"})
    # The web form shows it disabled; a forged POST is ignored for disabled fields.
    client.force_login(member)
    client.post(f"/cards/card/{card.slug}/edit/", _form_data(card, company="Rogue Ltd"))
    # The API refuses it too.
    response = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"company": "Rogue Ltd"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert response.status_code == 422 and "Your organisation sets" in response.json()["detail"]  # English
    in_french = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"company": "Rogue Ltd"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9",
    )
    assert "défini par votre organisation" in in_french.json()["errors"]["company"][0]
    assert "Rogue" not in client.get(f"/c/{card.slug}").content.decode()
    assert Card.objects.get(pk=card.pk).company != "Rogue Ltd"


def test_templates_are_assigned_by_department_then_group_then_default(org, card, locked_template, admin_user):
    sales = brand_template(
        org,
        "Sales",
        layout="banner",
        departments=["Sales"],
        locked_values={"company": "Alpha Sales"},
    )
    events = brand_template(
        org,
        "Events",
        layout="banner",
        groups=["booth"],
    )
    from tessera.cards.selectors import card_template_for

    assert card_template_for(card) == locked_template
    card = services.card_assign(card=card, template=None, groups=["booth"])
    assert card_template_for(card) == events
    card = services.card_update(card=card, changes={"department": "sales"}, actor=admin_user)
    assert card_template_for(card) == sales


def test_template_colours_must_meet_contrast(org):
    with pytest.raises(ValidationError, match="contrast"):
        services.template_save(
            organisation=org,
            name="Pale",
            primary_colour="#dddddd",
            background_colour="#ffffff",
            text_colour="#eeeeee",
            font="system",
            layout="classic",
        )


# --- the field that picks the template is the administrators' --------------------------------------


@pytest.fixture
def by_department(org, locked_template):
    """HQ (the default) locks the company; Sales is assigned by department and locks nothing."""
    return brand_template(
        org,
        "Sales",
        layout="banner",
        departments=["Sales"],
    )


def test_a_member_cannot_change_department_to_escape_a_brand_lock_by_web_form(
    client, member, card, by_department, locked_template
):
    from tessera.cards.selectors import card_template_for

    client.force_login(member)
    page = client.get(f"/cards/card/{card.slug}/edit/").content.decode()
    assert "your organisation&#x27;s administrators set it" in page or "administrators set it" in page
    assert (
        'name="department"' in page and "disabled" in page.split('name="department"', 1)[1].split(">", 1)[0]
    )
    # A forged POST of the disabled field is ignored: the department and the template stay.
    response = client.post(f"/cards/card/{card.slug}/edit/", _form_data(card, department="Sales"))
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.department == "" and card_template_for(card) == locked_template
    # ...so the company the default template locks still cannot be changed.
    client.post(f"/cards/card/{card.slug}/edit/", _form_data(card, company="Rogue Ltd"))
    assert Card.objects.get(pk=card.pk).company != "Rogue Ltd"
    assert "Rogue" not in client.get(f"/c/{card.slug}").content.decode()
    # Through the service, with the member as the one who asks: refused, nothing changes.
    # The public page left its language active in this thread: the message is read in English.
    with translation.override("en"), pytest.raises(ValidationError, match="only its administrators"):
        services.card_update(card=card, changes={"department": "Sales", "bio": "x"}, actor=member)
    card.refresh_from_db()
    assert (card.department, card.bio) == ("", "")


def test_only_admins_and_the_organisations_key_move_a_member_to_another_department(
    client, admin_user, org, member, card, by_department, locked_template, api_key
):
    from tessera.cards.selectors import card_template_for

    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    # Moving and, in the same change, setting a field the current template locks: refused whole.
    refused = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"department": "Sales", "company": "Rogue Ltd"},
        content_type="application/json",
        **auth,
    )
    assert refused.status_code == 422 and "company" in refused.json()["detail"]
    card.refresh_from_db()
    assert (card.department, card.company) == ("", "Alpha")
    # The organisation's key may move the card (provisioning): the new template applies.
    moved = client.patch(
        f"/api/v1/cards/{card.slug}", {"department": "Sales"}, content_type="application/json", **auth
    )
    assert moved.status_code == 200 and moved.json()["department"] == "Sales"
    card.refresh_from_db()
    assert card_template_for(card) == by_department
    # Another organisation's key reaches nothing.
    # An administrator moves it back from the organisation's card page.
    client.force_login(admin_user)
    response = client.post(
        f"/cards/org/{org.slug}/cards/{card.slug}/", {"template": "", "groups": "", "department": "IT"}
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.department == "IT" and card_template_for(card) == locked_template
    # With no template assigned by department, the member chooses their department freely.
    services.template_delete(template=by_department)
    client.force_login(member)
    client.post(f"/cards/card/{card.slug}/edit/", _form_data(card, department="Support"))
    card.refresh_from_db()
    assert card.department == "Support"


def test_a_department_template_does_not_undo_the_default_lock_through_the_api(
    client, card, org, api_key, locked_template
):
    # A template for Sales that locks the company differently: moving there applies its value.
    brand_template(
        org,
        "Sales",
        layout="banner",
        departments=["Sales"],
        locked_values={"company": "Alpha Sales"},
    )
    response = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"department": "Sales", "company": "Alpha Sales"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert response.status_code == 200 and response.json()["company"] == "Alpha Sales"


def test_an_oversized_photo_upload_through_the_page_is_refused_with_its_limit(client, member, card):
    from tessera.cards.images import MAX_UPLOAD_BYTES

    client.force_login(member)
    upload = io.BytesIO(jpeg_bytes() + b"\x00" * MAX_UPLOAD_BYTES)
    upload.name = "huge.jpg"
    response = client.post(f"/cards/card/{card.slug}/edit/", {"photo": upload})
    assert response.status_code == 400
    assert "too large; the limit is 5 MB" in response.content.decode()
    card.refresh_from_db()
    assert not card.photo_version and not card.photo


def test_an_admin_locks_phones_and_links_as_a_whole(client, admin_user, org, member, card, api_key):
    client.force_login(admin_user)
    data = {
        "name": "HQ",
        "primary_colour": "#0b5394",
        "background_colour": "#ffffff",
        "text_colour": "#111111",
        "font": "system",
        "layout": "classic",
        "is_default": "on",
        "lock_phones": "work +33 1 23 45 67 89\n",
        "lock_links": "Alpha on LinkedIn | https://www.linkedin.com/company/alpha",
    }
    bad = client.post(f"/cards/org/{org.slug}/templates/new/", data | {"lock_phones": "work 12"})
    assert bad.status_code == 400 and "international format" in bad.content.decode()
    assert client.post(f"/cards/org/{org.slug}/templates/new/", data).status_code == 302
    editor = client.get(f"/cards/org/{org.slug}/templates/{org.card_templates.get().pk}/").content.decode()
    assert "work +33123456789" in editor  # shown back as the lines it was typed as, normalised
    page = client.get(f"/c/{card.slug}").content.decode()
    assert "+33 1 23 45 67 89" in page and "Alpha on LinkedIn" in page
    assert "+33 6 12 34 56 78" not in page  # the member's own number no longer shows
    vcard = client.get(f"/c/{card.slug}/vcard").content.decode()
    assert "TEL;TYPE=WORK,VOICE:+33123456789" in vcard and "+33612345678" not in vcard
    # The member sees them, disabled; a forged POST of the slots changes nothing.
    client.force_login(member)
    form = client.get(f"/cards/card/{card.slug}/edit/").content.decode()
    number = form.split('name="phone_0_number"', 1)[1].split(">", 1)[0]
    assert "disabled" in number and "+33123456789" in number
    client.post(f"/cards/card/{card.slug}/edit/", _form_data(card, phone_0_number="+33 6 99 88 77 66"))
    assert "+33 6 99 88 77 66" not in client.get(f"/c/{card.slug}").content.decode()
    response = client.patch(
        f"/api/v1/cards/{card.slug}",
        {"phones": [{"kind": "mobile", "number": "+33 6 99 88 77 66"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert response.status_code == 422 and "phones" in response.json()["detail"]
    assert Card.objects.get(pk=card.pk).phones[0]["number"] == "+33612345678"  # the member's own, kept
