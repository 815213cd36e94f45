"""A member's signature from their card: placeholders, escaping, plain text, and images that track nobody."""

import re

import pytest
from django.core.exceptions import ValidationError

from tessera.cards import analytics
from tessera.cards import services as card_services
from tessera.cards.models import Card, CardDailyStat
from tessera.core.models import SecurityEvent
from tessera.signatures import selectors
from tessera.signatures.models import SignatureTemplate
from tessera.signatures.rendering import SignatureRefused, logo_version, sample_profile, signature_render
from tessera.signatures.services.templates import signature_template_save
from tests.signatures.render_support import *  # noqa: F403
from tests.signatures.render_support import STARTER_HTML

pytestmark = pytest.mark.django_db

ALL_PLACEHOLDERS = """<table width="560" style="width:560px"><tr><td>
<b>{{ name }}</b> ({{ first_name }} / {{ last_name }}) · {{ title }} · {{ department }} · {{ company }}
<br>{{ office }} · {{ address }} · <a href="mailto:{{ email }}">{{ email }}</a>
<br><a href="tel:{{ phone_tel }}">{{ phone }}</a> · {{ mobile }}
{% for p in phones %}<br>{{ p.kind }}: <a href="tel:{{ p.tel }}">{{ p.number }}</a>{% endfor %}
{% for link in links %}<br><a href="{{ link.url }}">{{ link.label }}</a>{% endfor %}
<br><a href="{{ card_url }}">{{ organisation }}</a>
<img src="{{ photo_url }}" width="64" alt=""><img src="{{ logo_url }}" height="30" alt="">
<img src="{{ qr_url }}" width="64" alt="QR">
</td></tr></table>"""


def _mine(org, user):
    return selectors.member_signature(organisation=org, user=user)


def test_every_placeholder_comes_from_the_card(org, admin_user, member, photo_card, default_template):
    SignatureTemplate.objects.filter(pk=default_template.pk).update(html=ALL_PLACEHOLDERS)
    found = _mine(org, member)
    html = found.signature.html
    for expected in (
        "<b>Bob Builder</b> (Bob / Builder) · Engineer · Engineering · Alpha",
        "1 rue du Port, 44000 Nantes",
        '<a href="mailto:bob@alpha.example">bob@alpha.example</a>',
        'mobile: <a href="tel:+33612345678">+33612345678</a>',
        '<a href="https://bob.example/blog">Blog</a>',
        f'<a href="http://testserver/c/{photo_card.slug}">Alpha</a>',
        f'src="http://testserver/c/{photo_card.slug}/photo-{photo_card.photo_version}.jpg"',
        f'src="http://testserver/s/logo/{default_template.public_id}-{logo_version(default_template)}.png"',
        'src="http://testserver/s/qr/',
    ):
        assert expected in html, expected
    assert (
        found.signature.text.splitlines()[0] == "Bob Builder (Bob / Builder) · Engineer · Engineering · Alpha"
    )
    assert "bob@alpha.example" in found.signature.text and "<" not in found.signature.text.replace(
        "<http", ""
    )


def test_a_hostile_card_field_cannot_inject_markup(org, member, card, default_template):
    card_services.card_update(
        card=card,
        changes={
            "job_title": '<img src=x onerror=alert(1)>"><script>x</script>',
            "last_name": "Evil\u202egpj.exe",
        },
    )
    found = _mine(org, member)
    assert "<script>" not in found.signature.html and "onerror" not in found.signature.html.replace(
        "onerror=", ""
    )
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&gt;&lt;script&gt;" in found.signature.html
    assert "\u202e" not in found.signature.html and "Evilgpj.exe" in found.signature.html
    assert "\u202e" not in found.signature.text


def test_a_5000_character_field_is_refused_by_the_card_and_the_signature_is_unchanged(
    org, member, card, default_template
):
    before = _mine(org, member).signature
    with pytest.raises(ValidationError):
        card_services.card_update(card=card, changes={"job_title": "x" * 5000})
    assert _mine(org, member).signature == before


def test_values_over_gmails_limit_give_a_clear_reason_not_a_cut_signature(org, default_template):
    profile = sample_profile(organisation_name="Alpha") | {"address": "y" * 10_500}
    with pytest.raises(SignatureRefused) as error:
        signature_render(template=default_template, profile=profile, organisation_name="Alpha")
    assert "Gmail refuses more than 10,000" in error.value.messages[0]


def test_a_foreign_link_in_a_value_is_refused_after_rendering(org, default_template):
    profile = sample_profile(organisation_name="Alpha") | {
        "links": [{"label": "x", "url": "javascript:alert(1)"}]
    }
    with pytest.raises(SignatureRefused) as error:
        signature_render(template=default_template, profile=profile, organisation_name="Alpha")
    assert "javascript:alert(1) is not allowed" in error.value.messages[0]


def test_the_logo_can_be_embedded_instead_of_linked(org, admin_user, member, card, default_template):
    signature_template_save(
        organisation=org, actor=admin_user, template=default_template, name="House style", html=STARTER_HTML,
        is_default=True, inline_logo=True,
    )  # fmt: skip
    html = _mine(org, member).signature.html
    assert 'src="data:image/png;base64,iVBOR' in html and "/s/logo/" not in html


def test_a_member_without_a_published_card_has_no_signature(org, member, card, default_template):
    card_services.card_set_active(card=card, active=False)
    assert _mine(org, member) is None


def _image_urls(html: str) -> list[str]:
    return [url.removeprefix("http://testserver") for url in re.findall(r'src="([^"]+)"', html)]


def test_every_image_is_served_without_cookie_at_a_stable_address_and_counts_nothing(
    client, org, member, photo_card, default_template, django_assert_max_num_queries
):
    html = _mine(org, member).signature.html
    urls = _image_urls(html)
    assert len(urls) == 3  # photo, QR code, logo
    counted = (
        CardDailyStat.objects.count(),
        SecurityEvent.objects.count(),
        Card.objects.get(pk=photo_card.pk).last_viewed_at,
    )
    client.cookies.clear()
    for url in urls:
        for _ in range(2):
            with django_assert_max_num_queries(2):  # reads only
                response = client.get(url, HTTP_REFERER="https://mail.example/inbox")
            assert response.status_code == 200, url
            assert response["Content-Type"] in ("image/png", "image/jpeg")
            assert response.cookies == {} and "Set-Cookie" not in response.headers
            assert "immutable" in response["Cache-Control"] and "public" in response["Cache-Control"]
    analytics.stats_flush()
    assert counted == (
        CardDailyStat.objects.count(),
        SecurityEvent.objects.count(),
        Card.objects.get(pk=photo_card.pk).last_viewed_at,
    )
    assert _image_urls(_mine(org, member).signature.html) == urls  # the same addresses every time


def test_saving_the_html_keeps_the_logo_address(org, admin_user, default_template):
    before = logo_version(default_template)
    template = signature_template_save(
        organisation=org, actor=admin_user, template=default_template, name="Renamed", html="<p>{{ name }}</p>",
        is_default=True,
    )  # fmt: skip
    assert logo_version(template) == before


def test_the_qr_code_is_drawn_only_for_a_signed_card_address(client, org, member, card, default_template):
    html = _mine(org, member).signature.html
    qr = next(u for u in _image_urls(html) if "/s/qr/" in u)
    assert client.get(qr).status_code == 200
    token = qr.removeprefix("/s/qr/").removesuffix(".png")
    forged = token.replace(token[:6], "aHR0cH", 1) if not token.startswith("aHR0cH") else "x" + token
    assert client.get(f"/s/qr/{forged}.png").status_code == 404
    assert client.get("/s/qr/ImhlbGxvIg:forged.png").status_code == 404


def test_every_members_signature_is_read_in_a_few_queries(
    org, admin_user, default_template, django_assert_max_num_queries
):
    for number in range(12):
        invitation = card_services.invitation_create(
            organisation=org, email=f"m{number}@alpha.example", invited_by=admin_user
        )
        _user, card = card_services.invitation_accept(
            invitation=invitation, password="a-long-test-password", full_name="M"
        )
        card_services.card_update(card=card, changes={"first_name": "Member", "last_name": str(number)})
    with django_assert_max_num_queries(4):  # templates, cards with their owners, card templates
        found = selectors.member_signatures(organisation=org)
    assert len(found) == 13 and all(f.signature for f in found)
