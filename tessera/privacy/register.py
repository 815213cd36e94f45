"""The register of processing activities, written as code.

Each installed app may have a `privacy` module declaring:

- `activities`: a list of `Activity`;
- `non_personal`: `{"app_label.Model": ["field", ...]}`, fields that can hold text but hold no
  personal data;
- `not_exported`: `{"activity name": reason}`, activities of this app that the access export leaves
  out on purpose (the reason is shown in the export);
- `export_subject(subject) -> list[ExportSection]` and `erase_subject(subject) -> list[ErasureOutcome]`,
  called in that order for a rights request (pretix's shredders: export first, then erase). A section
  may carry files (`ExportFile`, e.g. a photo): they go into the ZIP next to data.json.

It may also extend the accounts' inactivity rule (privacy/accounts.py), which cannot import it:
`inactivity_last_seen(user_ids) -> {user_id: datetime}` (activity this app sees, e.g. a card view),
`inactivity_choice(user) -> "anonymise" | "delete" | None` and `inactivity_anonymise(user)`.
And it names the addresses it holds a live relationship with, who must hear of a substantial policy
change: `policy_recipients(before) -> iterable of (email, language)` (relationships begun before then).

An app below privacy in the layers (core, accounts) cannot import this module: privacy holds its declarations
(`DECLARED_HERE`). `PrivacyConfig.ready()` collects every module into `registry` and refuses to start when a declaration
is malformed, naming the app and the field.
"""

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Recipients and measures that most activities share, declared once for every app's register.
STAFF = _("Authorised staff of the operator (support, security)")
TLS = _("Encryption in transit (HTTPS/TLS)")


class LegalBasis:
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal_obligation"

    labels = {
        CONTRACT: _("Performance of a contract (GDPR Art. 6(1)(b))"),
        LEGITIMATE_INTEREST: _("Legitimate interest (GDPR Art. 6(1)(f))"),
        CONSENT: _("Consent (GDPR Art. 6(1)(a))"),
        LEGAL_OBLIGATION: _("Legal obligation (GDPR Art. 6(1)(c))"),
    }


@dataclass(frozen=True)
class Retention:
    """How long an activity keeps its data, and the job that enforces it.

    `apply(now) -> int` deletes or anonymises what is due, in batches, and returns the row count; it
    must be idempotent. `period` is the main limit, shown in the retention table.
    """

    description: str | Promise
    period: timedelta | None = None
    apply: Callable | None = None


NO_TRANSFER = _("None.")

EEA_COUNTRIES = {
    "Austria", "Belgium", "Bulgaria", "Croatia", "Cyprus", "Czechia", "Denmark", "Estonia", "Finland",
    "France", "Germany", "Greece", "Hungary", "Iceland", "Ireland", "Italy", "Latvia", "Liechtenstein",
    "Lithuania", "Luxembourg", "Malta", "Netherlands", "Norway", "Poland", "Portugal", "Romania",
    "Slovakia", "Slovenia", "Spain", "Sweden",
}  # fmt: skip
ALL_SERVICES = _("All services")


@dataclass(frozen=True)
class Transfer:
    """One transfer outside the EEA, as the CNIL register template breaks it down."""

    recipient: str | Promise
    country: str | Promise
    safeguards: str | Promise
    documentation_url: str = ""


@dataclass(frozen=True)
class Activity:
    """One processing activity of the GDPR Art. 30 register."""

    name: str  # stable identifier, e.g. "core.security_log"
    title: str | Promise
    purpose: str | Promise
    legal_basis: str
    data_subjects: tuple
    data_categories: tuple
    fields: dict  # {"app_label.Model": ["field", ...]}
    recipients: tuple
    retention: Retention
    security_measures: tuple
    sub_processors: tuple = ("hosting", "email")  # keys of TESSERA_SUB_PROCESSORS
    transfers_outside_eea: str | Promise = NO_TRANSFER
    transfers: tuple = ()  # of Transfer
    service: str | Promise = ALL_SERVICES
    legal_basis_detail: str | Promise = ""
    sensitive_data: bool = False
    joint_controller: str | Promise = ""  # GDPR Art. 26, if the purposes are decided with someone else
    # GDPR Art. 28: the controller on whose behalf the operator processes this data, if not itself.
    processor_for: str | Promise = ""
    # Retention of a data category that differs from the activity's: {category: description}.
    category_retention: dict = field(default_factory=dict)
    app_label: str = ""
    required_fields = (
        "name",
        "title",
        "purpose",
        "legal_basis",
        "data_subjects",
        "data_categories",
        "fields",
        "recipients",
        "retention",
        "security_measures",
    )


@dataclass
class Subject:
    """The person a rights request is about, identified by an email address they control."""

    email: str
    user_ids: list = field(default_factory=list)

    def __post_init__(self):
        self.email = self.email.strip().lower()


@dataclass
class ExportFile:
    """A file of an access export (a photo, a document), written under files/ in the ZIP."""

    name: str
    content: bytes
    content_type: str
    description: str | Promise = ""


@dataclass
class ExportSection:
    """Rows of one data category about one person, from one activity."""

    activity: str
    category: str
    rows: list  # list of flat dicts of JSON-serialisable values
    description: str | Promise = ""
    files: list = field(default_factory=list)  # of ExportFile
    columns: dict = field(default_factory=dict)  # optional {row key: what it holds}, for schema.json


@dataclass
class ErasureOutcome:
    activity: str
    erased: int = 0
    kept: int = 0
    reason_kept: str | Promise = ""
    kept_until: str | Promise = ""


# Fields that can hold personal data unless declared otherwise.
PERSONAL_FIELD_TYPES = (
    models.CharField,
    models.TextField,
    models.EmailField,
    models.GenericIPAddressField,
    models.JSONField,
    models.FileField,
    models.BinaryField,
)


def personal(model_field):
    """Mark a field of any type as personal, so the coverage test requires a declaration for it."""
    model_field.personal = True
    return model_field


def field_can_be_personal(model_field) -> bool:
    from django.conf import settings

    if getattr(model_field, "personal", False):
        return True
    if isinstance(model_field, models.ManyToManyField):
        # Links to accounts are about those people; an explicit through model is checked on its own.
        return (
            model_field.related_model._meta.label == settings.AUTH_USER_MODEL
            and model_field.remote_field.through._meta.auto_created
        )
    if isinstance(model_field, models.ForeignKey | models.OneToOneField):
        # A row pointing at an account is about that person.
        return model_field.related_model._meta.label == settings.AUTH_USER_MODEL
    return isinstance(model_field, PERSONAL_FIELD_TYPES)


# Declarations of apps below privacy in the layers, which cannot import it: privacy holds them.
DECLARED_HERE = {"core": "tessera.privacy.platform", "accounts": "tessera.privacy.accounts"}


class Registry:
    def __init__(self):
        self.activities: dict[str, Activity] = {}
        self.non_personal: dict[str, set] = {}
        self.not_exported: dict[str, object] = {}
        self.modules: dict[str, object] = {}

    def clear(self):
        self.activities.clear()
        self.non_personal.clear()
        self.not_exported.clear()
        self.modules.clear()

    def load(self):
        self.clear()
        for config in apps.get_app_configs():
            module_name = DECLARED_HERE.get(config.label, f"{config.name}.privacy")
            if importlib.util.find_spec(module_name) is None:
                continue
            self.add_module(config.label, importlib.import_module(module_name))

    def add_module(self, app_label: str, module):
        self.modules[app_label] = module
        for index, activity in enumerate(getattr(module, "activities", [])):
            if not isinstance(activity, Activity):
                raise ImproperlyConfigured(f"{app_label}.privacy: activities[{index}] is not an Activity")
            activity = _validated(app_label, activity)
            if activity.name in self.activities:
                raise ImproperlyConfigured(
                    f"{app_label}.privacy: activity {activity.name!r}: field 'name' is declared twice"
                )
            self.activities[activity.name] = activity
        non_personal = getattr(module, "non_personal", {})
        if not isinstance(non_personal, dict):
            raise ImproperlyConfigured(
                f"{app_label}.privacy: field 'non_personal' must map 'app.Model' to field names"
            )
        for label, names in non_personal.items():
            model = _model(app_label, label, "non_personal")
            _names(app_label, names, f"non_personal[{label!r}]")
            for name in names:
                _field(app_label, model, name, f"non_personal[{label!r}]")
            self.non_personal.setdefault(label, set()).update(names)
        not_exported = getattr(module, "not_exported", {})
        if not isinstance(not_exported, dict):
            raise ImproperlyConfigured(
                f"{app_label}.privacy: field 'not_exported' must map an activity to a reason"
            )
        for name, reason in not_exported.items():
            owner = self.activities.get(name)
            if owner is None or owner.app_label != app_label:
                raise ImproperlyConfigured(
                    f"{app_label}.privacy: field 'not_exported' names {name!r}, not an activity of this app"
                )
            if not _is_text(reason) or not str(reason).strip():
                raise ImproperlyConfigured(
                    f"{app_label}.privacy: field 'not_exported' needs a reason for {name!r}"
                )
            self.not_exported[name] = reason
        for hook in ("export_subject", "erase_subject"):
            if hasattr(module, hook) and not callable(getattr(module, hook)):
                raise ImproperlyConfigured(f"{app_label}.privacy: field {hook!r} must be a function")

    def declared_fields(self) -> dict[str, set]:
        declared: dict[str, set] = {}
        for activity in self.activities.values():
            for label, names in activity.fields.items():
                declared.setdefault(label, set()).update(names)
        return declared

    def undeclared_fields(self, models_to_check=None) -> list[str]:
        """Fields that can hold personal data and that no activity declares nor marks non-personal.

        Every installed model unless `models_to_check` names others.
        """
        declared = self.declared_fields()
        offenders = []
        for model in apps.get_models() if models_to_check is None else models_to_check:
            label = model._meta.label
            covered = declared.get(label, set()) | self.non_personal.get(label, set())
            for model_field in [*model._meta.concrete_fields, *model._meta.local_many_to_many]:
                if model_field.primary_key and not getattr(model_field, "personal", False):
                    continue
                if field_can_be_personal(model_field) and model_field.name not in covered:
                    offenders.append(f"{label}.{model_field.name}")
        return offenders

    def exporters(self):
        return [
            (label, m.export_subject) for label, m in self.modules.items() if hasattr(m, "export_subject")
        ]

    def erasers(self):
        return [(label, m.erase_subject) for label, m in self.modules.items() if hasattr(m, "erase_subject")]

    def retention_rules(self):
        return [(a.name, a.retention) for a in self.activities.values() if a.retention.apply is not None]


def _model(app_label, label, where):
    if not isinstance(label, str):
        raise ImproperlyConfigured(f"{app_label}.privacy: {where}: model {label!r} must be 'app_label.Model'")
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        raise ImproperlyConfigured(f"{app_label}.privacy: {where}: unknown model {label!r}") from None


def _field(app_label, model, name, where):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        raise ImproperlyConfigured(
            f"{app_label}.privacy: {where}: {model._meta.label} has no field {name!r}"
        ) from None


def _is_text(value) -> bool:
    return isinstance(value, str | Promise)


def _names(app_label, names, where):
    if isinstance(names, str) or not isinstance(names, list | tuple | set | frozenset):
        raise ImproperlyConfigured(
            f"{app_label}.privacy: {where}: field names must be a list or tuple, not {type(names).__name__}"
        )
    for name in names:
        if not isinstance(name, str):
            raise ImproperlyConfigured(f"{app_label}.privacy: {where}: field name {name!r} is not a string")


# Fields declared as tuples of texts; a bare string would be read letter by letter.
TEXT_TUPLE_FIELDS = ("data_subjects", "data_categories", "recipients", "security_measures", "sub_processors")
TEXT_FIELDS = ("name", "title", "purpose", "legal_basis", "transfers_outside_eea", "service")


def _types_checked(where: str, activity: Activity) -> None:
    for name in TEXT_TUPLE_FIELDS:
        value = getattr(activity, name)
        if not isinstance(value, list | tuple) or not all(_is_text(item) for item in value):
            raise ImproperlyConfigured(
                f"{where}: field {name!r} must be a tuple of texts, not {type(value).__name__} {value!r}"
            )
    for name in (*TEXT_FIELDS, "legal_basis_detail", "joint_controller", "processor_for"):
        value = getattr(activity, name)
        if not _is_text(value):
            raise ImproperlyConfigured(f"{where}: field {name!r} must be a text, not {type(value).__name__}")
    if not isinstance(activity.sensitive_data, bool):
        raise ImproperlyConfigured(f"{where}: field 'sensitive_data' must be True or False")
    if not isinstance(activity.transfers, list | tuple) or not all(
        isinstance(t, Transfer) and t.recipient and t.country and t.safeguards for t in activity.transfers
    ):
        raise ImproperlyConfigured(
            f"{where}: field 'transfers' must be a tuple of Transfer with a recipient, a country and safeguards"
        )
    if not isinstance(activity.category_retention, dict) or not all(
        _is_text(k) and _is_text(v) and v for k, v in activity.category_retention.items()
    ):
        raise ImproperlyConfigured(f"{where}: field 'category_retention' must map a category to a text")
    unknown = [str(k) for k in activity.category_retention if k not in activity.data_categories]
    if unknown:
        raise ImproperlyConfigured(
            f"{where}: field 'category_retention' names categories absent from 'data_categories': {unknown}"
        )
    period = activity.retention.period if isinstance(activity.retention, Retention) else None
    if period is not None and not isinstance(period, timedelta):
        raise ImproperlyConfigured(f"{where}: field 'retention.period' must be a timedelta")


def _validated(app_label: str, activity: Activity) -> Activity:
    where = f"{app_label}.privacy: activity {activity.name or '?'!r}"
    for name in Activity.required_fields:
        value = getattr(activity, name)
        if value is None or (isinstance(value, str | tuple | list | dict) and not value):
            raise ImproperlyConfigured(f"{where}: field {name!r} is missing or empty")
    if activity.legal_basis not in LegalBasis.labels:
        raise ImproperlyConfigured(
            f"{where}: field 'legal_basis' must be one of {sorted(LegalBasis.labels)}, "
            f"not {activity.legal_basis!r}"
        )
    if not isinstance(activity.retention, Retention) or not activity.retention.description:
        raise ImproperlyConfigured(f"{where}: field 'retention' must be a Retention with a description")
    if activity.retention.apply is not None and not callable(activity.retention.apply):
        raise ImproperlyConfigured(f"{where}: field 'retention.apply' must be callable")
    if not isinstance(activity.fields, dict):
        raise ImproperlyConfigured(f"{where}: field 'fields' must map 'app.Model' to field names")
    _types_checked(where, activity)
    for label, names in activity.fields.items():
        model = _model(app_label, label, f"activity {activity.name!r}: field 'fields'")
        if not names:
            raise ImproperlyConfigured(f"{where}: field 'fields' lists no field of {label}")
        _names(app_label, names, f"activity {activity.name!r}: field 'fields'[{label!r}]")
        for name in names:
            _field(app_label, model, name, f"activity {activity.name!r}: field 'fields'")
    from django.conf import settings

    for key in activity.sub_processors:
        if key not in settings.TESSERA_SUB_PROCESSORS:
            raise ImproperlyConfigured(
                f"{where}: field 'sub_processors' names {key!r}, absent from TESSERA_SUB_PROCESSORS"
            )
        processor = settings.TESSERA_SUB_PROCESSORS[key]
        outside = processor["country"] not in EEA_COUNTRIES and processor["personal_data"]
        if outside and not processor.get("transfer_safeguards"):
            raise ImproperlyConfigured(
                f"{where}: field 'sub_processors' names {key!r}, outside the EEA "
                f"({processor['country']}): TESSERA_SUB_PROCESSORS[{key!r}] needs 'transfer_safeguards'"
            )
    return _with_app(activity, app_label)


def _with_app(activity: Activity, app_label: str) -> Activity:
    from dataclasses import replace

    return replace(activity, app_label=app_label)


registry = Registry()
