from django import forms
from django.utils.translation import gettext_lazy as _

from .complaint_files import attachments_check
from .complaints import DESCRIPTION_LIMIT, Complaint
from .selectors import staff_members

ACCEPT = "application/pdf,image/png,image/jpeg,text/plain,.pdf,.png,.jpg,.jpeg,.txt"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to 3 files, each checked by its content; cleans to a list of CheckedFile."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = list(data) if isinstance(data, list | tuple) else ([data] if data else [])
        return attachments_check(files)


def _text_field(label, *, required=True, rows=8) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=DESCRIPTION_LIMIT,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=_("At most 10,000 characters."),
        error_messages={
            "required": _("Describe what happened."),
            "max_length": _(
                "Your text is too long: at most %(limit_value)d characters (it has %(show_value)d)."
            ),
        },
    )


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[("", "—"), *Complaint.Category.choices],
        error_messages={
            "required": _("Choose a category."),
            "invalid_choice": _("Choose a valid category."),
        },
    )
    description = _text_field(_("Your complaint"))
    attachments = AttachmentsField(
        label=_("Files (optional)"),
        required=False,
        help_text=_("Up to 3 files: PDF, PNG, JPEG or plain text, 5 MB each and 10 MB in all."),
    )

    def clean_description(self) -> str:
        value = self.cleaned_data["description"]
        if "\x00" in value:
            raise forms.ValidationError(_("This field contains a forbidden character."))
        return value


class ReopenForm(forms.Form):
    reason = _text_field(_("Why the answer does not settle it"), rows=4)


class DeskAnswerForm(forms.Form):
    message = _text_field(_("Answer to the customer (emailed and shown in their space)"))


class DeskComplaintUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Complaint.Status.choices)
    assignee = forms.ModelChoiceField(
        label=_("Assigned to"), queryset=staff_members(), required=False, empty_label=_("Nobody")
    )
