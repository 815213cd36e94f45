"""References by id that must land on an element: help text, labels and errors a screen reader reaches.

`dangling_references(html)` reads a rendered page with html.parser; `assert_no_dangling_aria(page)` asks the
live DOM in the browser, after the page's scripts ran. `form_pages_world()` builds what the product's form
pages need and names them, for both checks.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

from django.db import transaction
from django.utils import timezone

# Attributes holding one id or a space-separated list of ids (WAI-ARIA 1.2, HTML).
ID_LISTS = (
    "aria-describedby",
    "aria-labelledby",
    "aria-controls",
    "aria-owns",
    "aria-flowto",
    "aria-details",
)
ID_SINGLE = ("aria-activedescendant", "aria-errormessage")
# `for` on <label> and <output>, `list` on <input>, `form` on form-associated elements.
ELEMENT_ID = {
    "for": ("label", "output"),
    "list": ("input",),
    "form": ("input", "button", "select", "textarea"),
}


class _References(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.references: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in ID_LISTS:
                self.references += [(tag, name, ref) for ref in value.split()]
            elif name in ID_SINGLE or tag in ELEMENT_ID.get(name, ()):
                self.references.append((tag, name, value.strip()))


def dangling_references(html: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, id) of every reference to an id that is not in the page."""
    parser = _References()
    parser.feed(html)
    return [reference for reference in parser.references if reference[2] not in parser.ids]


DANGLING_JS = """([lists, single, elementId]) => {
  const missing = [];
  for (const element of document.querySelectorAll('*')) {
    const tag = element.localName;
    for (const name of lists) {
      for (const ref of (element.getAttribute(name) || '').split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(ref)) missing.push([tag, name, ref]);
      }
    }
    const singles = single.concat(Object.keys(elementId).filter((name) => elementId[name].includes(tag)));
    for (const name of singles) {
      const ref = (element.getAttribute(name) || '').trim();
      if (element.hasAttribute(name) && !document.getElementById(ref)) missing.push([tag, name, ref]);
    }
  }
  return missing;
}"""


def assert_no_dangling_aria(page) -> None:
    """Every id reference of the page, as the browser built it, lands on an element."""
    missing = page.evaluate(
        DANGLING_JS, [list(ID_LISTS), list(ID_SINGLE), {k: list(v) for k, v in ELEMENT_ID.items()}]
    )
    assert missing == [], f"{page.url}: {missing}"


PASSWORD = "a-long-test-password"


@dataclass
class FormPages:
    owner: object  # the signed-in person: owner of the organisation "alpha", with a lead
    anonymous: list[str]  # pages with a form that anyone reaches by GET
    signed_in: list[str]  # pages with a form in the personal space (signed in as `owner`)
    manage_path: str  # the meeting's management page, opened by POSTing `manage_key`
    manage_key: str
    portal_email: str  # an address whose rights portal can be opened


def form_pages_world() -> FormPages:
    """An organisation with its owner's card, a lead, a pending invitation and a meeting."""
    from tessera.cards import services
    from tessera.cards.models import Lead
    from tessera.core import sealing
    from tessera.core.models import OutboxMessage
    from tessera.meetings import services as meetings
    from tests.cards.conftest import lead_for
    from tests.factories import OrganisationFactory, UserFactory

    owner = UserFactory(email="alice@alpha.example", password=PASSWORD, full_name="Alice Admin")
    org = OrganisationFactory(owner=owner, name="Alpha")
    card = owner.cards.get(organisation=org)
    lead = lead_for(card)
    template = services.template_save(
        organisation=org,
        name="HQ",
        primary_colour="#0b5394",
        background_colour="#ffffff",
        text_colour="#111111",
        font="system",
        layout="classic",
    )
    bob = services.invitation_create(organisation=org, email="bob@alpha.example", invited_by=owner)
    services.invitation_accept(invitation=bob, password=PASSWORD, full_name="Bob Builder")  # members page
    with transaction.atomic():  # read before delivery, which keeps only a copy without the link's secret
        services.invitation_create(organisation=org, email="dave@alpha.example", invited_by=owner)
        body = sealing.open_text(OutboxMessage.objects.get(recipient="dave@alpha.example").body_text)
    invitation = re.search(r"/cards/invitation/([^/\s]+)/", body).group(1)
    created = meetings.event_create(
        title="Team call",
        starts_at=(timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0),
        time_zone="Europe/Paris",
        duration_minutes=30,
        organiser_email="organiser@example.org",
        invitees=["ana@example.com"],
        language="en",
        age_confirmed=True,
    )
    assert Lead.objects.filter(pk=lead.pk).exists()
    return FormPages(
        owner=owner,
        anonymous=[
            "/en/accounts/login/",
            "/en/accounts/signup/",
            "/en/accounts/password/reset/",
            "/en/privacy/rights/",
            "/en/m/new/",
            f"/en/cards/invitation/{invitation}/",
            f"/c/{card.slug}",
            "/en/contact/",
            "/contact/",
        ],
        signed_in=[
            "/en/accounts/email/",
            "/en/accounts/password/change/",
            "/en/accounts/2fa/totp/activate/",
            "/en/accounts/reauthenticate/",
            "/en/privacy/account/",
            "/en/m/new/",
            f"/en/cards/card/{card.slug}/",
            f"/en/cards/card/{card.slug}/edit/",
            "/en/cards/leads/",
            f"/en/cards/leads/{lead.pk}/",
            "/en/cards/org/new/",
            "/en/cards/org/alpha/",
            "/en/cards/org/alpha/invite/",
            "/en/cards/org/alpha/import/",
            "/en/cards/org/alpha/templates/new/",
            f"/en/cards/org/alpha/templates/{template.pk}/",
            f"/en/cards/org/alpha/cards/{card.slug}/",
            "/en/cards/org/alpha/members/",
            "/en/cards/org/alpha/integrations/",
        ],
        manage_path=f"/en/m/manage/{created.event.public_id}",
        manage_key=created.manage_url.split("#", 1)[1],
        portal_email=owner.email,
    )


AXE = "/static/tessera/vendor/axe-core/axe.min.js"


def axe_results(page) -> dict:
    """axe-core's WCAG 2.1 A and AA rules run on the page as it is displayed."""
    page.add_script_tag(url=AXE)
    return page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
