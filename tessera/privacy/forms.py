from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PostMortemDirective


class RightsEmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("We send a one-time link to this address to check that it is yours."),
    )


class RectificationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    details = forms.CharField(
        label=_("Anything else to correct"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
        help_text=_("Sent to our data protection officer, who answers within one month."),
    )


class ObjectionForm(forms.Form):
    SCOPES = [
        ("marketing", _("Marketing: stop all marketing emails")),
        ("interest", _("Processing based on our legitimate interest")),
    ]
    scope = forms.ChoiceField(label=_("I object to"), choices=SCOPES, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("Grounds relating to your situation (for legitimate interest)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
    )


class DirectiveForm(forms.Form):
    instruction = forms.ChoiceField(
        label=_("After my death"), choices=PostMortemDirective.Instruction.choices
    )
    trusted_person_name = forms.CharField(label=_("Person I name"), max_length=200, required=False)
    trusted_person_email = forms.EmailField(label=_("Their email address"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("instruction") == PostMortemDirective.Instruction.COMMUNICATE and not (
            data.get("trusted_person_name") and data.get("trusted_person_email")
        ):
            raise forms.ValidationError(_("Name the person who should receive your data, and their email."))
        return data


class DeathNoticeForm(forms.Form):
    deceased_email = forms.EmailField(label=_("Email address of the person who died"), max_length=254)
    details = forms.CharField(
        label=_("Date of death, and how we can check it"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text=_(
            "For instance the reference of the death certificate; our data protection officer may ask you for a copy."
        ),
    )
