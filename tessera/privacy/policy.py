"""The privacy policy and the Art. 30 register, both rendered from the register of activities."""

import hashlib
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.core.spreadsheet import csv_text

from .models import PolicyVersion
from .register import EEA_COUNTRIES, NO_TRANSFER, LegalBasis, registry
from .subjects import subject_digest

# Bump when the fixed wording of the policy template changes in substance.
POLICY_TEXT_VERSION = "3"
NOTIFY_BATCH = 1000

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
        "category_retention",
        "fields",
        "recipients",
        "joint_controller",
        "sub_processors",
        "transfers_outside_eea",
        "transfers",
        "retention",
    )
    return {
        "activities": [{k: a[k] for k in keys} for a in snapshot["activities"]],
        "sub_processors": [(p["name"], p["country"], p["personal_data"]) for p in snapshot["sub_processors"]],
        "cookies": [c["name"] for c in snapshot["cookies"]],
    }


def policy_publish(*, using: str = "default", notify: bool = True) -> PolicyVersion:
    """Store a new policy version if the register changed; a substantial change emails account holders.

    The emails are queued by a task (`privacy_policy_notify`), enqueued once this commits. A
    substantial version whose notification has not finished is enqueued again, so a crash mid-way
    resumes where it stopped.
    """
    snapshot = register_snapshot()
    content_hash, substance_hash = _hash(snapshot), _hash(_substance(snapshot))
    with transaction.atomic(using=using):
        latest = PolicyVersion.objects.using(using).select_for_update().order_by("-number").first()
        if latest and latest.content_hash == content_hash:
            version = latest
        else:
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
        if notify and version.substantial and version.notified_at is None:
            policy_notification_enqueue(version=version, using=using)
    return version


# Named, not imported: the tasks module imports this one.
NOTIFY_TASK = "tessera.privacy.tasks.privacy_policy_notify"


def policy_notification_enqueue(*, version: PolicyVersion, using: str = "default") -> None:
    """Enqueue the emails of a substantial change once the surrounding transaction commits."""

    def enqueue():
        import_string(NOTIFY_TASK)(version.pk, using)

    # robust: the version is committed; if the queue is down, the hourly resume sends the emails.
    transaction.on_commit(enqueue, using=using, robust=True)


def policy_recipients_other(*, version: PolicyVersion, using: str = "default") -> list[tuple[str, str, str]]:
    """Addresses with a live relationship that no account holds, as (digest, email, language) in digest order.

    Each app names its own through `policy_recipients(before=...)` in its privacy module (organisers of
    events not over, marketing subscribers, card visitors awaiting an answer). Addresses are compared in
    lower case; the first language given for an address is kept.
    """
    found: dict[str, str] = {}
    for module in registry.modules.values():
        hook = getattr(module, "policy_recipients", None)
        if not callable(hook):
            continue
        for email, language in hook(before=version.published_at):
            email = (email or "").strip().lower()
            if email and email not in found:
                found[email] = language or settings.LANGUAGE_CODE
    # Account holders are told as such (or joined after the change); looked up by chunks of addresses.
    addresses = list(found)
    for start in range(0, len(addresses), NOTIFY_BATCH):
        chunk = addresses[start : start + NOTIFY_BATCH]
        for email in (
            get_user_model()
            .objects.using(using)
            .annotate(address=Lower("email"))
            .filter(address__in=chunk)
            .values_list("address", flat=True)
        ):
            found.pop(email, None)
    return sorted((subject_digest(email), email, language) for email, language in found.items())


def _policy_email_queue(*, email: str, language: str, version: PolicyVersion) -> None:
    email_queue_template(
        to=email,
        template="privacy/email/policy_changed",
        context={"version": version},
        language=language or settings.LANGUAGE_CODE,
        kind="privacy_policy_changed",
    )


def policy_change_notify(*, version_id: int, using: str = "default") -> int:
    """Queue one email per active account holder who joined before the version, then one per other
    address with a live relationship (`policy_recipients_other`); returns how many.

    Batches of `NOTIFY_BATCH`, each in one transaction with its progress mark (`notified_through_user_id`,
    then `others_notified_through`): a crash loses at most the uncommitted batch, which a rerun queues
    again, and nobody is emailed twice. Several workers cannot interleave: the version row is locked.
    """
    users = get_user_model().objects.using(using).filter(is_active=True).order_by("pk")
    queued, resumed, others = 0, None, None
    while True:
        with transaction.atomic(using=using):
            version = PolicyVersion.objects.using(using).select_for_update().get(pk=version_id)
            if version.notified_at is not None:
                return queued
            if resumed is None:
                resumed = version.notified_through_user_id > 0 or bool(version.others_notified_through)
            if not version.accounts_notified:
                batch = list(
                    users.filter(
                        pk__gt=version.notified_through_user_id, date_joined__lte=version.published_at
                    ).values_list("pk", "email", "language")[:NOTIFY_BATCH]
                )
                for _pk, email, language in batch:
                    _policy_email_queue(email=email, language=language, version=version)
                if batch:
                    version.notified_through_user_id = batch[-1][0]
                    version.save(update_fields=["notified_through_user_id"])
                else:
                    version.accounts_notified = True
                    version.save(update_fields=["accounts_notified"])
                queued += len(batch)
                continue
            if others is None:
                others = policy_recipients_other(version=version, using=using)
            batch = [row for row in others if row[0] > version.others_notified_through][:NOTIFY_BATCH]
            if not batch:
                version.notified_at = timezone.now()
                version.others_notified_through = ""  # a digest of an address: kept no longer than needed
                version.save(update_fields=["notified_at", "others_notified_through"])
                security_event_record(
                    action="privacy.policy_changed",
                    data={"version": version.number, "notified": queued, "resumed": resumed},
                )
                return queued
            for _digest, email, language in batch:
                _policy_email_queue(email=email, language=language, version=version)
            version.others_notified_through = batch[-1][0]
            version.save(update_fields=["others_notified_through"])
            queued += len(batch)


def policy_notifications_resume(*, using: str = "default") -> int:
    """Finish the emails of the latest substantial version if they were not all queued (hourly).

    An older unfinished version is not resumed: the email of the latest one points to the policy that
    now includes its changes.
    """
    latest = (
        PolicyVersion.objects.using(using)
        .filter(substantial=True)
        .order_by("-number")
        .only("pk", "notified_at")
        .first()
    )
    if latest is None or latest.notified_at is not None:
        return 0
    return policy_change_notify(version_id=latest.pk, using=using)


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


def register_columns() -> list[tuple[str, str]]:
    """CSV columns: the headings of the CNIL register template (translated), and their keys."""
    return [
        ("ref", _("Reference")),
        ("name", _("Name of the processing")),
        ("created", _("Record created")),
        ("updated", _("Last update")),
        ("controller", _("Controller")),
        ("representative", _("Representative")),
        ("joint_controller", _("Joint controller")),
        ("dpo", _("Data protection officer")),
        ("purpose", _("Purpose(s) of the processing")),
        ("legal_basis", _("Legal basis")),
        ("data_subjects", _("Categories of data subjects")),
        ("data_categories", _("Categories of personal data")),
        ("category_retention", _("Retention period of each category of data")),
        ("sensitive_data", _("Sensitive data")),
        ("recipients", _("Categories of recipients")),
        ("sub_processors", _("Processors")),
        ("transfer_recipients", _("Transfers outside the EU: recipient")),
        ("transfer_countries", _("Transfers outside the EU: country")),
        ("transfer_safeguards", _("Transfers outside the EU: safeguards")),
        ("retention", _("Retention periods")),
        ("security", _("Technical and organisational security measures")),
    ]


def activity_dates() -> dict[str, tuple]:
    """When each activity's record was created and last changed, from the published versions."""
    dates: dict[str, list] = {}
    fingerprints: dict[str, str] = {}
    for published_at, register in PolicyVersion.objects.order_by("number").values_list(
        "published_at", "register"
    ):
        for row in register.get("activities", []):
            fingerprint = _hash(row)
            if row["id"] not in dates:
                dates[row["id"]] = [published_at, published_at]
            elif fingerprints[row["id"]] != fingerprint:
                dates[row["id"]][1] = published_at
            fingerprints[row["id"]] = fingerprint
    return {key: (created.date(), updated.date()) for key, (created, updated) in dates.items()}


def _representative() -> str:
    # GDPR Art. 27: only a controller established outside the Union names a representative in it.
    return str(settings.TESSERA_OPERATOR.get("representative") or "")


def register_export() -> dict:
    version = policy_current()
    operator = settings.TESSERA_OPERATOR
    dates = activity_dates()
    today = timezone.now().date()
    activities = []
    for row in register_rows():
        created, updated = dates.get(row["id"], (today, today))
        activities.append({**row, "created": created.isoformat(), "updated": updated.isoformat()})
    return {
        "schema": "tessera.privacy.register/2",
        "controller": {
            "name": operator["name"],
            "address": operator["address"],
            "email": operator["email"],
        },
        "representative": _representative() or None,
        "dpo": {"email": operator["dpo_email"], "address": operator["dpo_address"]},
        "supervisory_authority": operator["supervisory_authority"],
        "version": version.number if version else None,
        "updated": version.published_at.date().isoformat() if version else None,
        "activities": activities,
    }


def register_csv() -> str:
    data = register_export()
    controller = "; ".join(x for x in data["controller"].values() if x)
    dpo = "; ".join(x for x in data["dpo"].values() if x)
    no_transfer = _("None: no transfer outside the EEA")
    columns = register_columns()
    rows = []
    for row in data["activities"]:
        transfers = row["transfers"]
        values = {
            "ref": row["id"],
            "name": row["name"],
            "created": row["created"],
            "updated": row["updated"],
            "controller": controller,
            "representative": data["representative"]
            or _("None: the controller is established in the European Union"),
            "joint_controller": row["joint_controller"] or _("None"),
            "dpo": dpo,
            "purpose": row["purpose"],
            "legal_basis": f"{row['legal_basis_label']} {row['legal_basis_detail']}".strip(),
            "data_subjects": "; ".join(row["data_subjects"]),
            "data_categories": "; ".join(row["data_categories"]),
            "category_retention": "; ".join(
                f"{c['category']}: {c['retention']}" for c in row["category_retention"]
            ),
            "sensitive_data": _("yes") if row["sensitive_data"] else _("no"),
            "recipients": "; ".join(row["recipients"]),
            "sub_processors": "; ".join(
                f"{p['name']} ({p['service']}, {p['country']}"
                + (f", {p['dpa_url']})" if p["dpa_url"] else ")")
                for p in row["sub_processors"]
            ),
            "transfer_recipients": "; ".join(t["recipient"] for t in transfers) or no_transfer,
            "transfer_countries": "; ".join(t["country"] for t in transfers) or no_transfer,
            "transfer_safeguards": "; ".join(t["safeguards"] for t in transfers) or no_transfer,
            "retention": row["retention"],
            "security": "; ".join(row["security_measures"]),
        }
        rows.append([values[key] for key, _label in columns])
    return csv_text(rows, header=[label for _key, label in columns])
