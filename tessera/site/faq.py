"""The questions customers ask, answered from what the product does; the page and the assistant read them here."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    slug: str  # the anchor on the FAQ page, stable across languages
    question: str | Promise
    answer: str | Promise


FAQ = (
    Entry(
        "price",
        _("How much does Tessera cost?"),
        _(
            "Meetings are free, with no account and no cookie. For business cards for your organisation, "
            "write to us through the contact form."
        ),
    ),
    Entry(
        "account",
        _("Do I need an account to organise a meeting?"),
        _(
            "No. You give the title, the time and the invitees' addresses, and confirm your own address by "
            "email; no invitation leaves before that. An account is needed for business cards."
        ),
    ),
    Entry(
        "guests",
        _("Do my guests need an account?"),
        _(
            "No. Every invitee gets a personal link and a calendar file by email, and joins from their "
            "browser without an account and without installing anything."
        ),
    ),
    Entry(
        "e2ee",
        _("Are meetings end-to-end encrypted?"),
        _(
            "Yes. Audio, video, chat and screen sharing are encrypted in the participants' browsers with a "
            "key made in the organiser's browser. By default the key never reaches our servers, and it is "
            "replaced whenever someone leaves."
        ),
    ),
    Entry(
        "safety-code",
        _("What is the safety code and how do I compare it?"),
        _(
            "Next to the lock at the top of the meeting, your page shows a safety code of 12 digits in groups "
            "of three. One person reads it aloud and everyone checks that their screen shows the same code. "
            "If yours differs, leave the meeting and tell the organiser by another means."
        ),
    ),
    Entry(
        "server-sees",
        _("What can your server see of my meeting?"),
        _(
            "Who connects and when, the network addresses of the devices, how much data flows, and the title, "
            "time and invitees' addresses needed for the invitations. It does not see audio, video, chat "
            "messages or the names displayed in the meeting."
        ),
    ),
    Entry(
        "recording",
        _("Can a meeting be recorded?"),
        _(
            "A recording happens only on the device of the participant who records, after every other "
            "participant was notified and could refuse and leave. We never store audio or video on our servers."
        ),
    ),
    Entry(
        "meeting-retention",
        _("How long do you keep my meetings?"),
        _(
            "An event and its invitations are deleted 30 days after the end of the event. The metadata of a "
            "live session is deleted after 7 days."
        ),
    ),
    Entry(
        "cards",
        _("What is a Tessera business card?"),
        _(
            "A digital business card with its own public page, which anyone can open from a QR code or an NFC "
            "tag and save to their contacts as a vCard file."
        ),
    ),
    Entry(
        "nfc",
        _("How do I write my card to an NFC tag?"),
        _(
            "On Android with Chrome, press “Write to an NFC tag” on your card and hold a blank tag against your "
            "phone. You can also download the NFC record (.ndef) or the QR code in PNG or SVG."
        ),
    ),
    Entry(
        "lost-card",
        _("I lost my NFC card. What should I do?"),
        _(
            "Deactivate the card from its page in your space: its public page then answers “not found”, so the "
            "lost tag opens nothing. You can reactivate it later."
        ),
    ),
    Entry(
        "vcard",
        _("How do visitors save my details?"),
        _(
            "Your card's page offers a vCard file that phones and address books import directly, with your "
            "name, role, company and contact details."
        ),
    ),
    Entry(
        "exchange",
        _("What is the contact exchange?"),
        _(
            "A visitor of your card can leave their own details for you, with their explicit consent. The "
            "contact is kept 3 years after the last contact, then deleted with the consent recorded for it."
        ),
    ),
    Entry(
        "directory",
        _("Can cards be created from Google Workspace or Microsoft Entra ID?"),
        _(
            "Yes. An organisation admin connects Google Workspace or Microsoft Entra ID, or provisions people "
            "with SCIM, and the cards follow the directory. Access tokens live only in memory during a task; "
            "the refresh token is deleted after 90 days without use."
        ),
    ),
    Entry(
        "signatures",
        _("Can Tessera make our email signatures?"),
        _(
            "Yes. Each member's email signature is generated from their card every time, so it is never out "
            "of date; for Google Workspace it can be pushed to Gmail."
        ),
    ),
    Entry(
        "cookies",
        _("Do you use cookies?"),
        _(
            "No cookie on the public pages, meeting pages and card pages: no tracker, no audience measurement, "
            "nothing loaded from third parties. The only cookie keeps you signed in, once you sign in."
        ),
    ),
    Entry(
        "retention",
        _("How long do you keep my data?"),
        _(
            "Each kind of data has its own period, listed in the privacy policy and enforced by an automatic "
            "job that runs every hour. For example, an account unused for 24 months is deleted, after a "
            "warning at 23 months."
        ),
    ),
    Entry(
        "rights",
        _("How do I access or erase my data?"),
        _(
            "On the rights portal, without an account and without a cookie: give your email address and "
            "follow the one-time link. We answer within one month."
        ),
    ),
    Entry(
        "dpo",
        _("How do I contact your data protection officer?"),
        _("Write to our data protection officer at %(dpo_email)s."),
    ),
    Entry(
        "complaint",
        _("Where can I complain about the use of my data?"),
        _("You may lodge a complaint with the supervisory authority, %(authority)s."),
    ),
    Entry(
        "minimum-age",
        _("Is there a minimum age to use Tessera?"),
        _("Yes: you must be %(age)s or older to create an account."),
    ),
    Entry(
        "two-factor",
        _("Can I protect my account with two-factor authentication?"),
        _(
            "Yes: with a 6-digit code from an authenticator app, or with a passkey. You can also sign in with "
            "Google or Microsoft."
        ),
    ),
    Entry(
        "sub-processors",
        _("Who hosts my data?"),
        _(
            "Our sub-processors (hosting, email delivery) are listed with their country in the privacy "
            "policy. They act only on our documented instructions, under a data processing agreement."
        ),
    ),
)


def faq_entries() -> list[dict]:
    """The entries in the active language, with the operator's contacts filled in from the settings."""
    operator = {k: str(v) for k, v in settings.TESSERA_OPERATOR.items()}
    values = {
        "dpo_email": operator.get("dpo_email", ""),
        "authority": operator.get("supervisory_authority", ""),
        "age": settings.TESSERA_PRIVACY["minimum_age"],
    }
    return [{"slug": e.slug, "question": str(e.question), "answer": str(e.answer) % values} for e in FAQ]
