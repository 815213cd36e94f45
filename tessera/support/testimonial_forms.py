from django import forms
from django.utils.translation import gettext_lazy as _

from .testimonial_photos import MAX_PHOTO_BYTES, photo_clean
from .testimonial_services import CONSENT_TEXT
from .testimonials import COMPANY_LIMIT, MESSAGE_LIMIT, NAME_LIMIT, ROLE_LIMIT, TEXT_LIMIT, TEXT_MIN

TOO_LONG = _("Your text is too long: at most %(limit_value)d characters (it has %(show_value)d).")


def _text_field(label, *, help_text="") -> forms.CharField:
    return forms.CharField(
        label=label,
        min_length=TEXT_MIN,
        max_length=TEXT_LIMIT,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=help_text,
        error_messages={
            "required": _("Write your testimonial."),
            "min_length": _("Write at least %(limit_value)d characters (it has %(show_value)d)."),
            "max_length": TOO_LONG,
        },
    )


class PhotoField(forms.FileField):
    """An optional photo, refused by its weight before it is read, then by its content; cleans to bytes."""

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload:
            return b""
        if upload.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError(_("The photo is too large: at most 2 MB."))
        upload.seek(0)
        return photo_clean(upload.read(MAX_PHOTO_BYTES + 1))


class TestimonialForm(forms.Form):
    text = _text_field(
        _("Your testimonial"),
        help_text=_("Between %(min)d and %(max)d characters.") % {"min": TEXT_MIN, "max": TEXT_LIMIT},
    )
    name = forms.CharField(
        label=_("Your name, as it will be shown"),
        max_length=NAME_LIMIT,
        error_messages={"required": _("Give the name to show with your testimonial.")},
    )
    role = forms.CharField(label=_("Your role (optional)"), max_length=ROLE_LIMIT, required=False)
    speak_for = forms.ChoiceField(label=_("You speak for"), required=False)
    company = forms.CharField(label=_("Company (optional)"), max_length=COMPANY_LIMIT, required=False)
    photo = PhotoField(
        label=_("Photo (optional)"),
        required=False,
        help_text=_("JPEG, PNG or WebP, at most 2 MB. We remove its metadata (place, camera)."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    consent = forms.BooleanField(
        label=CONSENT_TEXT,
        error_messages={
            "required": _("Without your consent to its publication, we cannot publish a testimonial.")
        },
    )

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisations = {str(o.pk): o for o in organisations}
        self.fields["speak_for"].choices = [
            ("", _("Myself")),
            *((pk, _("%(name)s, as its admin") % {"name": o.name}) for pk, o in self.organisations.items()),
        ]
        if not self.organisations:
            del self.fields["speak_for"]

    def clean_speak_for(self):
        value = self.cleaned_data.get("speak_for") or ""
        return self.organisations.get(value)


class DeskProposeForm(forms.Form):
    text = _text_field(_("Proposed text"))
    message = forms.CharField(
        label=_("Note to the author (optional)"),
        required=False,
        max_length=MESSAGE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": TOO_LONG},
    )


class DeskRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason, shown to the author"),
        max_length=MESSAGE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Tell the author why."), "max_length": TOO_LONG},
    )


class DeskApproveForm(forms.Form):
    """Approving takes no input; a form keeps the desk's actions alike."""
