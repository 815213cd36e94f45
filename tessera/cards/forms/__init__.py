"""Forms of a person's own card and leads, the public exchange form and an invitation's acceptance.

The organisation administration's forms are in forms.organisation.
"""

from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..fields import PROFILE_ADDRESS, PROFILE_IDENTITY, PROFILE_TEXTS
from ..images import MAX_UPLOAD_BYTES
from ..models import VISIBILITY_FIELDS, Card, Lead, Visibility
from ..services import consent_text

PHONE_SLOTS, EMAIL_SLOTS, LINK_SLOTS, CUSTOM_SLOTS = 3, 3, 4, 3
PHONE_LABELS = {"work": _("work"), "mobile": _("mobile"), "personal": _("personal")}
EMAIL_LABELS = {"work": _("work"), "personal": _("personal")}
SCALAR_LABELS = {name: capfirst(Card._meta.get_field(name).verbose_name) for name in PROFILE_TEXTS}
VISIBILITY_LABELS = {
    "job_title": _("Job title"),
    "company": _("Company"),
    "department": _("Department"),
    "bio": _("Short bio"),
    "website": _("Website"),
    "address": _("Postal address"),
    "photo": _("Photo"),
}


class SlotGroup(NamedTuple):
    """A repeated group of the profile: each slot a kind or a label, a value and a public switch."""

    name: str  # the card's list
    prefix: str  # the form fields' prefix
    count: int
    first: str
    first_label: str
    kinds: dict | None  # the choices of a kind; None when the first is a free label
    second: str
    second_label: str
    input_type: str | None


SLOT_GROUPS = (
    SlotGroup(
        "phones",
        "phone",
        PHONE_SLOTS,
        "kind",
        _("Phone %(n)s type"),
        PHONE_LABELS,
        "number",
        _("Phone %(n)s"),
        "tel",
    ),
    SlotGroup(
        "emails",
        "email",
        EMAIL_SLOTS,
        "kind",
        _("Email %(n)s type"),
        EMAIL_LABELS,
        "address",
        _("Email %(n)s"),
        "email",
    ),
    SlotGroup(
        "links",
        "link",
        LINK_SLOTS,
        "label",
        _("Link %(n)s label"),
        None,
        "url",
        _("Link %(n)s address"),
        "url",
    ),
    SlotGroup(
        "custom_fields",
        "custom",
        CUSTOM_SLOTS,
        "label",
        _("Custom field %(n)s label"),
        None,
        "value",
        _("Custom field %(n)s value"),
        None,
    ),
)


class ProfileForm(forms.Form):
    """Flat HTML fields for the profile; the service validates the assembled values."""

    def __init__(self, *args, locked: dict | None = None, admin_only=(), directory=(), source="", **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = locked or {}
        # Fields a company directory feeds: shown, never sent (the service refuses them anyway).
        self.directory = set(directory) - set(self.locked)
        self.admin_only = set(admin_only) - set(self.locked) - self.directory
        kept = escape(
            gettext("Kept in step with %(source)s.")
            % {"source": source or gettext("your organisation's directory")}
        )
        for name, label in SCALAR_LABELS.items():
            widget = forms.Textarea(attrs={"rows": 3}) if name == "bio" else None
            field = forms.CharField(label=label, required=False, widget=widget)
            if name in self.locked:
                field.disabled = True
                field.help_text = _("Set by your organisation.")
            elif name in self.directory:
                field.disabled = True
                field.help_text = kept
            elif name in self.admin_only:
                field.disabled = True
                field.help_text = _(
                    "It chooses your card's template: your organisation's administrators set it."
                )
            self.fields[name] = field
        self._slots()
        for prefix, name, key in (
            ("phone", "phones", "number"),
            ("email", "emails", "address"),
            ("link", "links", "url"),
        ):
            if name in self.locked or name in self.directory:
                for field_name, field in self.fields.items():
                    if field_name.startswith(f"{prefix}_"):
                        field.disabled = True
                self.fields[f"{prefix}_0_{key}"].help_text = (
                    _("Set by your organisation.") if name in self.locked else kept
                )

    def _slots(self):
        for group in SLOT_GROUPS:
            for i in range(group.count):
                n = {"n": i + 1}
                self.fields[f"{group.prefix}_{i}_{group.first}"] = (
                    forms.ChoiceField(
                        label=group.first_label % n, choices=list(group.kinds.items()), required=False
                    )
                    if group.kinds
                    else forms.CharField(label=group.first_label % n, required=False)
                )
                self.fields[f"{group.prefix}_{i}_{group.second}"] = forms.CharField(
                    label=group.second_label % n,
                    required=False,
                    widget=forms.TextInput(attrs={"type": group.input_type}) if group.input_type else None,
                )
                self.fields[f"{group.prefix}_{i}_public"] = forms.BooleanField(
                    label=_("Show on the public page"), required=False
                )
        for name, label in VISIBILITY_LABELS.items():
            self.fields[f"visibility_{name}"] = forms.ChoiceField(
                label=label, choices=Visibility.choices, initial=Visibility.PUBLIC
            )

    @staticmethod
    def initial_for(card, locked: dict | None = None) -> dict:
        """The form's values for `card`; what the organisation locks shows instead of the card's own."""
        locked = locked or {}
        initial = {name: locked.get(name, getattr(card, name)) for name in SCALAR_LABELS}
        for group in SLOT_GROUPS:
            for i, item in enumerate(locked.get(group.name, getattr(card, group.name))[: group.count]):
                initial |= {
                    f"{group.prefix}_{i}_{key}": item[key] for key in (group.first, group.second, "public")
                }
        for name in VISIBILITY_FIELDS:
            initial[f"visibility_{name}"] = card.visibility.get(name, Visibility.PUBLIC)
        return initial

    def changes(self) -> dict:
        data = self.cleaned_data
        fixed = set(self.locked) | self.admin_only | self.directory
        changes = {name: data[name] for name in SCALAR_LABELS} | self._lists(data)
        return {k: v for k, v in changes.items() if k not in fixed}

    def _lists(self, data) -> dict:
        changes = {}
        for group in SLOT_GROUPS:
            items = []
            for i in range(group.count):
                first, second = (
                    data[f"{group.prefix}_{i}_{group.first}"],
                    data[f"{group.prefix}_{i}_{group.second}"],
                )
                # A kind alone says nothing: the slot counts once it has a value. A label alone is kept.
                if not (second.strip() or (group.kinds is None and first.strip())):
                    continue
                items.append(
                    {
                        group.first: (first or "work") if group.kinds else first,
                        group.second: second,
                        "public": data[f"{group.prefix}_{i}_public"],
                    }
                )
            changes[group.name] = items
        changes["visibility"] = {name: data[f"visibility_{name}"] for name in VISIBILITY_FIELDS}
        return changes

    def add_service_errors(self, error: ValidationError) -> None:
        """Map the service's errors (phones, links...) onto the form."""
        slot_field = {
            "phones": "phone_0_number",
            "emails": "email_0_address",
            "links": "link_0_url",
            "custom_fields": "custom_0_label",
        }
        for name, messages in error.message_dict.items():
            target = name if name in self.fields else slot_field.get(name)
            for message in messages:
                self.add_error(target, message)

    def groups(self):
        """Field groups for the template: (legend, [rows of bound fields])."""
        return {
            "phones": [
                [self[f"phone_{i}_kind"], self[f"phone_{i}_number"], self[f"phone_{i}_public"]]
                for i in range(PHONE_SLOTS)
            ],
            "emails": [
                [self[f"email_{i}_kind"], self[f"email_{i}_address"], self[f"email_{i}_public"]]
                for i in range(EMAIL_SLOTS)
            ],
            "links": [
                [self[f"link_{i}_label"], self[f"link_{i}_url"], self[f"link_{i}_public"]]
                for i in range(LINK_SLOTS)
            ],
            "custom": [
                [self[f"custom_{i}_label"], self[f"custom_{i}_value"], self[f"custom_{i}_public"]]
                for i in range(CUSTOM_SLOTS)
            ],
            "identity": [self[n] for n in PROFILE_IDENTITY],
            "address": [self[n] for n in PROFILE_ADDRESS],
            "visibility": [self[f"visibility_{n}"] for n in VISIBILITY_FIELDS],
        }


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo (JPEG, PNG or WebP, at most 5 MB)"))

    def clean_photo(self):
        upload = self.cleaned_data["photo"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The image is too large; the limit is 5 MB."))
        return upload


class ExchangeForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.CharField(
        label=_("Your email"), widget=forms.TextInput(attrs={"type": "email", "autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    company = forms.CharField(
        label=_("Company (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    job_title = forms.CharField(
        label=_("Job title (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    message = forms.CharField(
        label=_("Message (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    consent = forms.BooleanField(label="", required=False)
    challenge = forms.CharField(widget=forms.HiddenInput, required=False)
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = consent_text()


class LeadForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Lead.Status.choices)
    tags = forms.CharField(label=_("Tags (separated by commas)"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 5}))


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)


class AcceptForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    age_confirmed = forms.BooleanField(
        label=_("I am 16 or older"),
        error_messages={"required": _("You must be 16 or older to create an account.")},
    )
