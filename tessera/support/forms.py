import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import MESSAGE_LIMIT, Ticket
from .selectors import staff_members

SUBJECT_LIMIT = 200
# A number without a country code is read as French: the operator is a French company.
DEFAULT_REGION = "FR"


def _message_field(label) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MESSAGE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("At most 10,000 characters."),
        error_messages={
            "required": _("Write your message."),
            "max_length": _(
                "Your message is too long: at most %(limit_value)d characters (it has %(show_value)d)."
            ),
        },
    )


class ContactForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We answer at this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    company = forms.CharField(
        label=_("Company (optional)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_LIMIT)
    message = _message_field(_("Message"))
    challenge = forms.CharField(widget=forms.HiddenInput, required=False)
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        message = _("This is not a valid phone number. Use the international format, e.g. +33 6 12 34 56 78.")
        try:
            number = phonenumbers.parse(value, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            raise ValidationError(message, code="phone") from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(message, code="phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        for name in ("first_name", "last_name", "company", "subject", "message"):
            if "\x00" in data.get(name, ""):
                self.add_error(name, _("This field contains a forbidden character."))
        return data


class ReplyForm(forms.Form):
    message = _message_field(_("Your answer"))


class DeskReplyForm(forms.Form):
    message = _message_field(_("Answer to the sender (sent by email)"))


class DeskNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Internal note (never shown to the sender)"),
        max_length=MESSAGE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DeskUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    assignee = forms.ModelChoiceField(
        label=_("Assigned to"), queryset=staff_members(), required=False, empty_label=_("Nobody")
    )
