"""The policy page's content and the register it is rendered from, read from the register of activities."""

import hashlib
import json

from django.conf import settings
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..models import PolicyVersion
from ..register import EEA_COUNTRIES, NO_TRANSFER, LegalBasis, registry

# Bump when the fixed wording of the policy template changes in substance.
POLICY_TEXT_VERSION = "3"


# What a restriction (GDPR Art. 18) does across the product, said the same way wherever it is offered.
RESTRICTION_EFFECTS = gettext_lazy(
    "While it is in force, we send you no email except our answers to your rights requests, your public "
    "card is hidden, your cards accept no new contact exchange, contacts are no longer forwarded to your "
    "organisation's tools (those waiting are held), and no statistics are counted about your cards."
)

RIGHTS = [
    (
        "access",
        gettext_lazy("Right of access"),
        gettext_lazy("Get a copy of all the data we hold about you, and how we use it."),
    ),
    (
        "portability",
        gettext_lazy("Right to data portability"),
        gettext_lazy("Receive your data in a structured, machine-readable format (JSON and CSV)."),
    ),
    (
        "rectification",
        gettext_lazy("Right to rectification"),
        gettext_lazy("Have inaccurate or incomplete data corrected."),
    ),
    (
        "erasure",
        gettext_lazy("Right to erasure"),
        gettext_lazy(
            "Have your data erased at once, except what the law requires us to keep; we tell you what was "
            "kept, why and until when."
        ),
    ),
    (
        "restriction",
        gettext_lazy("Right to restriction of processing"),
        format_lazy(
            "{} {}",
            gettext_lazy(
                "Freeze the processing of your data, for instance while you contest its accuracy, until you lift it."
            ),
            RESTRICTION_EFFECTS,
        ),
    ),
    (
        "objection",
        gettext_lazy("Right to object"),
        gettext_lazy(
            "Object at any time to marketing, and, on grounds relating to your situation, to processing "
            "based on our legitimate interest."
        ),
    ),
    (
        "withdrawal",
        gettext_lazy("Right to withdraw consent"),
        gettext_lazy(
            "Withdraw a consent at any time, as easily as you gave it. Withdrawal does not affect the "
            "lawfulness of what was done before."
        ),
    ),
    (
        "post_mortem",
        gettext_lazy("Directives after death"),
        gettext_lazy(
            "Tell us whether your data should be kept, erased or communicated to a person you name after "
            "your death, and change or revoke these directives at any time."
        ),
    ),
]


def cookie_table() -> list[dict]:
    """Every cookie the code can set, read from the settings that govern it."""
    rows = [
        {
            "name": settings.SESSION_COOKIE_NAME,
            "purpose": _(
                "Keeps you signed in. Set only when you sign in to your personal space or the back-office."
            ),
            "lifetime": ngettext(
                "Until you sign out, at most %(days)s day",
                "Until you sign out, at most %(days)s days",
                settings.SESSION_COOKIE_AGE // 86400,
            )
            % {"days": settings.SESSION_COOKIE_AGE // 86400},
            "kind": _("Strictly necessary"),
        }
    ]
    if not settings.CSRF_USE_SESSIONS:
        rows.append(
            {
                "name": settings.CSRF_COOKIE_NAME,
                "purpose": _("Protects forms against cross-site request forgery."),
                "lifetime": _("1 year"),
                "kind": _("Strictly necessary"),
            }
        )
    if settings.MESSAGE_STORAGE.endswith(("CookieStorage", "FallbackStorage")):
        rows.append(
            {
                "name": settings.MESSAGE_COOKIE_NAME
                if hasattr(settings, "MESSAGE_COOKIE_NAME")
                else "messages",
                "purpose": _("Shows a one-time notice after an action."),
                "lifetime": _("Until the browser is closed"),
                "kind": _("Strictly necessary"),
            }
        )
    return rows


def sub_processor_rows() -> list[dict]:
    return [
        {
            "key": key,
            "name": value["name"],
            "service": str(value["service"]),
            "country": value["country"],
            "dpa_url": value["dpa_url"],
            "personal_data": value["personal_data"],
        }
        for key, value in settings.TESSERA_SUB_PROCESSORS.items()
    ]


def _period_days(retention):
    return retention.period.days if retention.period else None


def _transfers(activity) -> list[dict]:
    """The activity's transfers outside the EEA: declared ones, and its sub-processors outside it."""
    rows = [
        {
            "recipient": str(t.recipient),
            "country": str(t.country),
            "safeguards": str(t.safeguards),
            "documentation_url": t.documentation_url,
        }
        for t in activity.transfers
    ]
    for key in activity.sub_processors:
        processor = settings.TESSERA_SUB_PROCESSORS[key]
        if processor["personal_data"] and processor["country"] not in EEA_COUNTRIES:
            rows.append(
                {
                    "recipient": processor["name"],
                    "country": processor["country"],
                    "safeguards": str(processor.get("transfer_safeguards", "")),
                    "documentation_url": processor.get("dpa_url", ""),
                }
            )
    return rows


def register_rows() -> list[dict]:
    """The Art. 30 register, one row per activity, with the fields of the CNIL template."""
    processors = settings.TESSERA_SUB_PROCESSORS
    rows = []
    for activity in registry.activities.values():
        retention = str(activity.retention.description)
        # Keyed by lazy texts, whose hash depends on the active language: compare as plain text.
        by_category = {str(k): str(v) for k, v in activity.category_retention.items()}
        rows.append(
            {
                "id": activity.name,
                "name": str(activity.title),
                "service": str(activity.service),
                "purpose": str(activity.purpose),
                "legal_basis": activity.legal_basis,
                "legal_basis_label": str(LegalBasis.labels[activity.legal_basis]),
                "legal_basis_detail": str(activity.legal_basis_detail),
                "joint_controller": str(activity.joint_controller),
                "processor_for": str(activity.processor_for),
                "data_subjects": [str(x) for x in activity.data_subjects],
                "data_categories": [str(x) for x in activity.data_categories],
                "category_retention": [
                    {"category": str(c), "retention": by_category.get(str(c), retention)}
                    for c in activity.data_categories
                ],
                "sensitive_data": activity.sensitive_data,
                "fields": {label: list(names) for label, names in sorted(activity.fields.items())},
                "recipients": [str(x) for x in activity.recipients],
                "sub_processors": [
                    {
                        "name": processors[k]["name"],
                        "service": str(processors[k]["service"]),
                        "country": processors[k]["country"],
                        "dpa_url": processors[k]["dpa_url"],
                    }
                    for k in activity.sub_processors
                ],
                "transfers_outside_eea": str(activity.transfers_outside_eea),
                "transfers": _transfers(activity),
                "retention": retention,
                "retention_days": _period_days(activity.retention),
                "security_measures": [str(x) for x in activity.security_measures],
            }
        )
    return rows


def _operator():
    return {k: str(v) for k, v in settings.TESSERA_OPERATOR.items()}


def register_snapshot() -> dict:
    """Everything the policy is generated from, in the source language, for hashing and archiving."""
    with translation.override("en"):
        return {
            "text_version": POLICY_TEXT_VERSION,
            "operator": _operator(),
            "sub_processors": sub_processor_rows(),
            "cookies": cookie_table(),
            "minimum_age": settings.TESSERA_PRIVACY["minimum_age"],
            "activities": register_rows(),
        }


def register_hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def policy_current() -> PolicyVersion | None:
    return PolicyVersion.objects.defer("register").order_by("-number").first()


def policy_context() -> dict:
    activities = register_rows()
    services: dict[str, list] = {}
    for row in activities:
        services.setdefault(row["service"], []).append(row)
    return {
        "version": policy_current(),
        "activities": activities,
        "services": services,
        "sub_processors": sub_processor_rows(),
        "cookies": cookie_table(),
        "rights": RIGHTS,
        "minimum_age": settings.TESSERA_PRIVACY["minimum_age"],
        "transfers": [
            a for a in activities if a["transfers"] or a["transfers_outside_eea"] != str(NO_TRANSFER)
        ],
        "processors_outside_eea": [
            p for p in sub_processor_rows() if p["country"] not in EEA_COUNTRIES and p["personal_data"]
        ],
    }
