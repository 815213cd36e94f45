"""Forms of a person's own card and leads, the public exchange form and an invitation's acceptance.

The organisation administration's forms are in forms.organisation.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
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


class ProfileForm(forms.Form):
    """Flat HTML fields for the profile; the service validates the assembled values."""

    def __init__(self, *args, locked: dict | None = None, admin_only=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = locked or {}
        self.admin_only = set(admin_only) - set(self.locked)
        for name, label in SCALAR_LABELS.items():
            widget = forms.Textarea(attrs={"rows": 3}) if name == "bio" else None
            field = forms.CharField(label=label, required=False, widget=widget)
            if name in self.locked:
                field.disabled = True
                field.help_text = _("Set by your organisation.")
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
            if name in self.locked:
                for field_name, field in self.fields.items():
                    if field_name.startswith(f"{prefix}_"):
                        field.disabled = True
                self.fields[f"{prefix}_0_{key}"].help_text = _("Set by your organisation.")

    def _slots(self):
        # Every repeated slot is a kind or label, a value and a public switch: one table declares them.
        for prefix, count, (first, first_label, kinds), (second, second_label, input_type) in (
            (
                "phone",
                PHONE_SLOTS,
                ("kind", _("Phone %(n)s type"), PHONE_LABELS),
                ("number", _("Phone %(n)s"), "tel"),
            ),
            (
                "email",
                EMAIL_SLOTS,
                ("kind", _("Email %(n)s type"), EMAIL_LABELS),
                ("address", _("Email %(n)s"), "email"),
            ),
            (
                "link",
                LINK_SLOTS,
                ("label", _("Link %(n)s label"), None),
                ("url", _("Link %(n)s address"), "url"),
            ),
            (
                "custom",
                CUSTOM_SLOTS,
                ("label", _("Custom field %(n)s label"), None),
                ("value", _("Custom field %(n)s value"), None),
            ),
        ):
            for i in range(count):
                n = {"n": i + 1}
                self.fields[f"{prefix}_{i}_{first}"] = (
                    forms.ChoiceField(label=first_label % n, choices=list(kinds.items()), required=False)
                    if kinds
                    else forms.CharField(label=first_label % n, required=False)
                )
                self.fields[f"{prefix}_{i}_{second}"] = forms.CharField(
                    label=second_label % n,
                    required=False,
                    widget=forms.TextInput(attrs={"type": input_type}) if input_type else None,
                )
                self.fields[f"{prefix}_{i}_public"] = forms.BooleanField(
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
        phones, emails, links = (locked.get(n, getattr(card, n)) for n in ("phones", "emails", "links"))
        for i, item in enumerate(phones[:PHONE_SLOTS]):
            initial |= {
                f"phone_{i}_kind": item["kind"],
                f"phone_{i}_number": item["number"],
                f"phone_{i}_public": item["public"],
            }
        for i, item in enumerate(emails[:EMAIL_SLOTS]):
            initial |= {
                f"email_{i}_kind": item["kind"],
                f"email_{i}_address": item["address"],
                f"email_{i}_public": item["public"],
            }
        for i, item in enumerate(links[:LINK_SLOTS]):
            initial |= {
                f"link_{i}_label": item["label"],
                f"link_{i}_url": item["url"],
                f"link_{i}_public": item["public"],
            }
        for i, item in enumerate(card.custom_fields[:CUSTOM_SLOTS]):
            initial |= {
                f"custom_{i}_label": item["label"],
                f"custom_{i}_value": item["value"],
                f"custom_{i}_public": item["public"],
            }
        for name in VISIBILITY_FIELDS:
            initial[f"visibility_{name}"] = card.visibility.get(name, Visibility.PUBLIC)
        return initial

    def changes(self) -> dict:
        data = self.cleaned_data
        fixed = set(self.locked) | self.admin_only
        changes = {name: data[name] for name in SCALAR_LABELS} | self._lists(data)
        return {k: v for k, v in changes.items() if k not in fixed}

    def _lists(self, data) -> dict:
        changes = {}
        changes["phones"] = [
            {
                "kind": data[f"phone_{i}_kind"] or "work",
                "number": data[f"phone_{i}_number"],
                "public": data[f"phone_{i}_public"],
            }
            for i in range(PHONE_SLOTS)
            if data[f"phone_{i}_number"].strip()
        ]
        changes["emails"] = [
            {
                "kind": data[f"email_{i}_kind"] or "work",
                "address": data[f"email_{i}_address"],
                "public": data[f"email_{i}_public"],
            }
            for i in range(EMAIL_SLOTS)
            if data[f"email_{i}_address"].strip()
        ]
        changes["links"] = [
            {
                "label": data[f"link_{i}_label"],
                "url": data[f"link_{i}_url"],
                "public": data[f"link_{i}_public"],
            }
            for i in range(LINK_SLOTS)
            if data[f"link_{i}_url"].strip() or data[f"link_{i}_label"].strip()
        ]
        changes["custom_fields"] = [
            {
                "label": data[f"custom_{i}_label"],
                "value": data[f"custom_{i}_value"],
                "public": data[f"custom_{i}_public"],
            }
            for i in range(CUSTOM_SLOTS)
            if data[f"custom_{i}_label"].strip() or data[f"custom_{i}_value"].strip()
        ]
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
