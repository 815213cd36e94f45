"""Forms of the customer file's desk page; the services check everything again."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .customers import NOTE_LIMIT, REFERENCE_LIMIT, CustomerFile


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CustomerFileForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"), choices=CustomerFile.Plan.choices)
    contract_reference = forms.CharField(
        label=_("Contract reference"), max_length=REFERENCE_LIMIT, required=False
    )
    seats = forms.IntegerField(
        label=_("Seats in the contract"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=_("Leave empty when the contract sets no number."),
    )
    contract_start = forms.DateField(label=_("Contract start"), required=False, widget=_DateInput())
    renewal_date = forms.DateField(label=_("Renewal date"), required=False, widget=_DateInput())
    relationship_ended_on = forms.DateField(
        label=_("Relationship ended on"),
        required=False,
        widget=_DateInput(),
        help_text=_("When the contract ends: the file is then kept 3 years, and deleted."),
    )


class CustomerContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    role = forms.CharField(label=_("Role"), max_length=120, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)


class CustomerNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Internal note (never shown to the customer)"),
        max_length=NOTE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
