"""Processing activity of email signatures: each member's signature rendered from their card.

Here the operator is the customer company's processor: the company decides what its members' signatures say.
The templates are the company's own content (no person's data); a signature is rendered from the card when
it is shown, downloaded or pushed, and is not stored here.
"""

from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import STAFF, TLS, Activity, LegalBasis, Retention

SIGNATURES = _("Email signatures")

activities = [
    Activity(
        name="signatures.rendering",
        service=SIGNATURES,
        title=_("Email signatures of the members of an organisation"),
        purpose=_(
            "Render each member's email signature from their card, with their organisation's template, so "
            "that the member can copy or download it and their organisation can deploy it."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the email signatures the company subscribed to."),
        processor_for=_("the member's organisation"),
        data_subjects=(_("Members of customer organisations"),),
        data_categories=(
            _("The card's name, job title, department, phone numbers, email address, address and links"),
            _("The card's photo and address (URL)"),
        ),
        fields={
            "cards.Card": [
                "first_name",
                "last_name",
                "job_title",
                "department",
                "phones",
                "emails",
                "links",
                "street",
                "postal_code",
                "city",
                "country",
                "photo_small",
            ]
        },
        recipients=(_("The member"), _("Administrators of the member's organisation"), STAFF),
        retention=Retention(
            description=_(
                "Nothing is kept: the signature is rendered from the card each time, and follows the card's "
                "retention."
            )
        ),
        security_measures=(
            TLS,
            _("Every value is escaped when rendered: nothing a member types can add markup"),
            _("Signature images are served without cookies and count nothing"),
        ),
    ),
]

# Nothing of a signature is stored: the cards section of the export holds what it is rendered from.
not_exported = {
    "signatures.rendering": _(
        "Your signature is rendered from your card each time and is not stored: the cards section holds it."
    )
}

non_personal = {
    # The company's design, shared by all its members.
    "signatures.SignatureTemplate": ["name", "html", "departments", "groups", "logo"],
}

# Pushes to Gmail (push_privacy.py): their activity, and the export and erasure of a person's results.
from .push_privacy import push_activity, push_erase, push_export, push_non_personal  # noqa: E402

activities.append(push_activity)
non_personal.update(push_non_personal)
export_subject, erase_subject = push_export, push_erase
