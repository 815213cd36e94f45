"""Signature templates as an administrator saves them: the rules, the assignment, the logo, the log."""

import pytest
from django.core.exceptions import ValidationError

from tessera.accounts import hooks
from tessera.accounts.models import Membership
from tessera.cards import services as card_services
from tessera.core.models import SecurityEvent
from tessera.signatures import selectors
from tessera.signatures.models import SignatureTemplate
from tessera.signatures.services.templates import signature_template_delete, signature_template_save
from tests.signatures.render_support import *  # noqa: F403
from tests.signatures.render_support import STARTER_HTML, png_bytes

pytestmark = pytest.mark.django_db


def _save(org, actor, html, **kwargs):
    return signature_template_save(
        organisation=org, actor=actor, name=kwargs.pop("name", "T"), html=html, **kwargs
    )


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<p>{{ name }}</p><script>alert(1)</script>", "Scripts are not allowed"),
        ('<p onmouseover="steal()">{{ name }}</p>', "Event handlers (onmouseover)"),
        ('<img src="{{ logo_url }}" onerror="x()">', "Event handlers (onerror)"),
        ('<form action="https://evil.example"><input name="q"></form>', "Forms and their fields"),
        ('<link rel="stylesheet" href="https://cdn.example/s.css"><p>{{ name }}</p>', "Stylesheets"),
        ("<style>p { color: red }</style><p>{{ name }}</p>", "Stylesheets"),
        ('<table width="640"><tr><td>{{ name }}</td></tr></table>', "640 px wide"),
        ('<div style="max-width:700px">{{ name }}</div>', "700 px wide"),
        ('<p style="background:url(https://t.example/p.gif)">{{ name }}</p>', "loads something"),
        ('<a href="javascript:alert(1)">{{ name }}</a>', "is not allowed: use https:"),
        ("<p>" + "x" * 10_001 + "</p>", "Gmail refuses more than 10,000"),
        ("{% load static %}<p>{{ name }}</p>", "not load"),
        ("{% include 'base.html' %}", "not include"),
        ("<p>{{ password }}</p>", "Unknown placeholder: password"),
        ("<p>{{ name|safe }}</p>", "The filter safe"),
        ("<iframe src='https://x.example'></iframe>", "Embedded content (iframe)"),
        ("   ", "The template is empty"),
    ],
)
def test_a_template_that_breaks_a_rule_is_refused_with_a_clear_message(org, admin_user, html, message):
    saved = _save(org, admin_user, "<p>{{ name }}</p>", name="Kept")
    with pytest.raises(ValidationError) as error:
        _save(org, admin_user, html, template=saved, name="Changed")
    assert any(message in m for m in error.value.message_dict["html"]), error.value.message_dict
    saved.refresh_from_db()
    assert (saved.name, saved.html) == ("Kept", "<p>{{ name }}</p>")
    assert SignatureTemplate.objects.filter(organisation=org).count() == 1


def test_a_template_too_long_for_one_member_is_refused(org, admin_user, card):
    # 80 addresses: short for the sample member and the admin, over Gmail's limit for a long one.
    html = "<p>" + "{{ address }} " * 80 + "</p>"
    card_services.card_update(card=card, changes={"street": "9" * 150, "city": "Saint-Rémy-de-Provence"})
    with pytest.raises(ValidationError) as error:
        _save(org, admin_user, html)
    assert "1 of 3 signatures would break a rule" in error.value.message_dict["html"][0]
    assert not SignatureTemplate.objects.exists()


def test_a_good_template_is_saved_and_logged_without_its_html(org, admin_user):
    template = _save(org, admin_user, STARTER_HTML, departments=["Sales", " sales ", ""], logo=png_bytes())
    assert template.departments == ["Sales"]
    assert bytes(template.logo).startswith(b"\x89PNG")
    event = SecurityEvent.objects.get(action="signatures.template.saved")
    assert event.data == {"organisation": org.pk, "template": template.pk}


def test_the_logo_must_be_an_image(org, admin_user):
    with pytest.raises(ValidationError) as error:
        _save(org, admin_user, STARTER_HTML, logo=b"<svg onload='x()'></svg>")
    assert error.value.message_dict["logo"] == ["The logo must be a PNG or JPEG image."]
    assert not SignatureTemplate.objects.exists()


def test_a_template_of_another_organisation_cannot_be_changed(org, admin_user, other_org, other_admin):
    theirs = _save(other_org, other_admin, "<p>{{ name }}</p>", name="Theirs")
    with pytest.raises(ValidationError):
        _save(org, admin_user, "<p>mine</p>", template=theirs)
    theirs.refresh_from_db()
    assert theirs.html == "<p>{{ name }}</p>"


def test_one_default_per_organisation(org, admin_user):
    first = _save(org, admin_user, "<p>1</p>", name="One", is_default=True)
    second = _save(org, admin_user, "<p>2</p>", name="Two", is_default=True)
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def _directory_groups(org, card, groups):
    """The groups a directory gives the member, through the hook a directory sync calls."""
    membership = Membership.objects.get(organisation=org, user_id=card.owner_id)
    hooks.member_synced.send(
        membership=membership, values={}, locked=(), source=None, template=None, groups=groups, active=True,
        dry_run=False,
    )  # fmt: skip


def test_assignment_by_department_then_directory_group_then_default(org, admin_user, card):
    default = _save(org, admin_user, "<p>default {{ name }}</p>", name="Default", is_default=True)
    sales = _save(org, admin_user, "<p>sales {{ name }}</p>", name="Sales", departments=["Sales"])
    group = _save(org, admin_user, "<p>group {{ name }}</p>", name="Group", groups=["Paris office"])

    def template_of():
        return selectors.member_signatures(organisation=org, user_ids=[card.owner_id])[0].template

    assert template_of() == default  # no department, no group: the organisation's default
    card_services.card_update(card=card, changes={"department": "sales"})
    assert template_of() == sales
    card.refresh_from_db()
    card_services.card_update(card=card, changes={"department": "Support"})
    _directory_groups(org, card, ["Paris office"])
    assert template_of() == group
    signature_template_delete(template=default, actor=admin_user)
    _directory_groups(org, card, [])
    found = selectors.member_signatures(organisation=org, user_ids=[card.owner_id])[0]
    assert (found.template, found.signature, found.problem) == (None, None, "no_template")
