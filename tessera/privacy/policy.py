"""The privacy policy and the Art. 30 register, both rendered from the register of activities."""

import csv
import hashlib
import io
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from .models import PolicyVersion
from .register import LegalBasis, registry

# Bump when the fixed wording of the policy template changes in substance.
POLICY_TEXT_VERSION = "2"
NOTIFY_BATCH = 1000

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
        gettext_lazy("Freeze the processing of your data (no email is sent to you) until you lift it."),
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


def register_rows() -> list[dict]:
    """The Art. 30 register, one row per activity, with the fields of the CNIL template."""
    processors = settings.TESSERA_SUB_PROCESSORS
    rows = []
    for activity in registry.activities.values():
        rows.append(
            {
                "id": activity.name,
                "name": str(activity.title),
                "service": str(activity.service),
                "purpose": str(activity.purpose),
                "legal_basis": activity.legal_basis,
                "legal_basis_label": str(LegalBasis.labels[activity.legal_basis]),
                "legal_basis_detail": str(activity.legal_basis_detail),
                "data_subjects": [str(x) for x in activity.data_subjects],
                "data_categories": [str(x) for x in activity.data_categories],
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
                "retention": str(activity.retention.description),
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


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _substance(snapshot: dict) -> dict:
    """What makes a change substantial: what is collected, why, on what basis, who gets it, how long."""
    keys = (
        "id",
        "purpose",
        "legal_basis",
        "data_subjects",
        "data_categories",
        "fields",
        "recipients",
        "sub_processors",
        "transfers_outside_eea",
        "retention",
    )
    return {
        "activities": [{k: a[k] for k in keys} for a in snapshot["activities"]],
        "sub_processors": [(p["name"], p["country"], p["personal_data"]) for p in snapshot["sub_processors"]],
        "cookies": [c["name"] for c in snapshot["cookies"]],
    }


def policy_publish(*, using: str = "default", notify: bool = True) -> PolicyVersion:
    """Store a new policy version if the register changed; a substantial change emails account holders."""
    snapshot = register_snapshot()
    content_hash, substance_hash = _hash(snapshot), _hash(_substance(snapshot))
    with transaction.atomic(using=using):
        latest = PolicyVersion.objects.using(using).select_for_update().order_by("-number").first()
        if latest and latest.content_hash == content_hash:
            return latest
        existing = PolicyVersion.objects.using(using).filter(content_hash=content_hash).first()
        if existing:  # a revert to an earlier register is published as a new version
            existing.content_hash = f"{content_hash[:50]}-{timezone.now():%y%m%d%H%M%S}"
            existing.save(update_fields=["content_hash"])
        version = PolicyVersion.objects.using(using).create(
            number=(latest.number + 1) if latest else 1,
            content_hash=content_hash,
            substance_hash=substance_hash,
            substantial=bool(latest and latest.substance_hash != substance_hash),
            register=snapshot,
        )
    if version.substantial and notify:
        policy_change_notify(version=version, using=using)
    return version


def policy_change_notify(*, version: PolicyVersion, using: str = "default") -> int:
    """Queue one email per active account holder, in batches; resumable through `notified_at`."""
    users = get_user_model().objects.using(using).filter(is_active=True).order_by("pk")
    sent, last_pk = 0, 0
    while True:
        batch = list(users.filter(pk__gt=last_pk).values_list("pk", "email", "language")[:NOTIFY_BATCH])
        if not batch:
            break
        with transaction.atomic(using=using):
            for pk, email, language in batch:
                email_queue_template(
                    to=email,
                    template="privacy/email/policy_changed",
                    context={"version": version},
                    language=language or settings.LANGUAGE_CODE,
                    kind="privacy_policy_changed",
                )
                last_pk = pk
                sent += 1
    PolicyVersion.objects.using(using).filter(pk=version.pk).update(notified_at=timezone.now())
    security_event_record(action="privacy.policy_changed", data={"version": version.number, "notified": sent})
    return sent


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
        "answer_days": settings.TESSERA_PRIVACY["rights_answer_days"],
        "transfers": [a for a in activities if a["transfers_outside_eea"] != _("None.")],
        "processors_outside_eea": [
            p for p in sub_processor_rows() if p["country"] not in EEA_COUNTRIES and p["personal_data"]
        ],
    }


EEA_COUNTRIES = {
    "Austria", "Belgium", "Bulgaria", "Croatia", "Cyprus", "Czechia", "Denmark", "Estonia", "Finland",
    "France", "Germany", "Greece", "Hungary", "Iceland", "Ireland", "Italy", "Latvia", "Liechtenstein",
    "Lithuania", "Luxembourg", "Malta", "Netherlands", "Norway", "Poland", "Portugal", "Romania",
    "Slovakia", "Slovenia", "Spain", "Sweden",
}  # fmt: skip


def register_columns() -> list[tuple[str, str]]:
    """CSV columns: the headings of the CNIL register template (translated), and their keys."""
    return [
        ("ref", _("Reference")),
        ("name", _("Name of the processing")),
        ("updated", _("Last update")),
        ("controller", _("Controller")),
        ("dpo", _("Data protection officer")),
        ("purpose", _("Purpose(s) of the processing")),
        ("legal_basis", _("Legal basis")),
        ("data_subjects", _("Categories of data subjects")),
        ("data_categories", _("Categories of personal data")),
        ("sensitive_data", _("Sensitive data")),
        ("recipients", _("Categories of recipients")),
        ("sub_processors", _("Processors")),
        ("transfers", _("Transfers outside the EU")),
        ("retention", _("Retention periods")),
        ("security", _("Technical and organisational security measures")),
    ]


def register_export() -> dict:
    version = policy_current()
    operator = settings.TESSERA_OPERATOR
    return {
        "schema": "tessera.privacy.register/1",
        "controller": {
            "name": operator["name"],
            "address": operator["address"],
            "email": operator["email"],
        },
        "dpo": {"email": operator["dpo_email"], "address": operator["dpo_address"]},
        "supervisory_authority": operator["supervisory_authority"],
        "version": version.number if version else None,
        "updated": version.published_at.date().isoformat() if version else None,
        "activities": register_rows(),
    }


def register_csv() -> str:
    data = register_export()
    controller = "; ".join(x for x in data["controller"].values() if x)
    dpo = "; ".join(x for x in data["dpo"].values() if x)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = register_columns()
    writer.writerow([label for _key, label in columns])
    for row in data["activities"]:
        values = {
            "ref": row["id"],
            "name": row["name"],
            "updated": data["updated"] or "",
            "controller": controller,
            "dpo": dpo,
            "purpose": row["purpose"],
            "legal_basis": f"{row['legal_basis_label']} {row['legal_basis_detail']}".strip(),
            "data_subjects": "; ".join(row["data_subjects"]),
            "data_categories": "; ".join(row["data_categories"]),
            "sensitive_data": _("yes") if row["sensitive_data"] else _("no"),
            "recipients": "; ".join(row["recipients"]),
            "sub_processors": "; ".join(
                f"{p['name']} ({p['service']}, {p['country']})" for p in row["sub_processors"]
            ),
            "transfers": row["transfers_outside_eea"],
            "retention": row["retention"],
            "security": "; ".join(row["security_measures"]),
        }
        writer.writerow([_csv_safe(values[key]) for key, _label in columns])
    return out.getvalue()


def _csv_safe(value) -> str:
    """Neutralise spreadsheet formulas (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
