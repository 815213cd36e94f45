from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .conf import meetings_setting, sfu_available
from .invitees import invitee_list_parse
from .services import TIME_ZONES
from .texts import MARKETING_CONSENT_TEXT

DURATIONS = [
    (15, "15 min"),
    (30, "30 min"),
    (45, "45 min"),
    (60, "1 h"),
    (90, "1 h 30"),
    (120, "2 h"),
    (180, "3 h"),
    (240, "4 h"),
    (480, "8 h"),
]


def _zone_choices():
    return [(name, name.replace("_", " ")) for name in sorted(TIME_ZONES) if "/" in name or name == "UTC"]


class EventDetailsForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_zone_choices, initial=settings.TIME_ZONE)
    duration_minutes = forms.TypedChoiceField(label=_("Duration"), choices=DURATIONS, coerce=int, initial=60)

    def starts_at(self) -> datetime:
        data = self.cleaned_data
        return datetime.combine(data["date"], data["time"]).replace(tzinfo=ZoneInfo(data["time_zone"]))

    def details(self) -> dict:
        return {
            "title": self.cleaned_data["title"],
            "description": self.cleaned_data["description"],
            "starts_at": self.starts_at(),
            "time_zone": self.cleaned_data["time_zone"],
            "duration_minutes": self.cleaned_data["duration_minutes"],
        }

    def add_service_errors(self, error) -> None:
        # The meeting key is a hidden field: its problem is shown at the top of the form.
        mapping = {"starts_at": "date", "room_secret": "__all__"}
        for name, messages in error.message_dict.items():
            name = mapping.get(name, name)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class EventCreateForm(EventDetailsForm):
    organiser_email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("We send you a link to confirm it; no invitation leaves before you open it."),
    )
    invitees = forms.CharField(
        label=_("Invitees"),
        max_length=64_000,
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "Paste up to 200 addresses, separated by commas, semicolons or new lines. To write to someone"
            " in another language than the one below, end their address with [en] or [fr]."
        ),
    )
    language = forms.ChoiceField(label=_("Language of the invitations"), choices=settings.LANGUAGES)
    # The label is the consent text itself: what the ledger stores is exactly what was shown.
    marketing_opt_in = forms.BooleanField(label=MARKETING_CONSENT_TEXT, required=False)
    age_confirmed = forms.BooleanField(label=_("I confirm that I am 16 or older."), required=True)
    key_in_links = forms.BooleanField(
        label=_("Links carry the meeting key"),
        required=False,
        help_text=_(
            "Off: the key is made in your browser and handed over in the meeting by a participant who holds"
            " it; our server and the email provider never see it. On: anyone can join alone from their email"
            " link, but the emails, so our server and the email provider, carry the key."
        ),
    )
    large_meeting = forms.BooleanField(
        label=_("Large meeting"),
        required=False,
        help_text=_(
            "For an all-hands, a class or a webinar: the room goes through our media server from the first"
            " participant and holds many more people. It stays end-to-end encrypted: the media server"
            " forwards frames it cannot read."
        ),
    )
    # Filled by the page's script only when the links carry the key (decision 0010); never rendered back.
    room_secret = forms.CharField(required=False, max_length=43, widget=forms.HiddenInput)

    def __init__(self, *args, member_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if not sfu_available():
            del self.fields["large_meeting"]  # a deployment without Janus stays mesh-only
        if member_email:
            self.fields["organiser_email"].initial = member_email
            self.fields["organiser_email"].help_text = _(
                "You are signed in as a member of an organisation: invitations leave at once."
            )

    def clean_invitees(self):
        parsed = invitee_list_parse(self.cleaned_data["invitees"])
        if parsed.malformed:
            raise forms.ValidationError(
                [
                    forms.ValidationError(
                        _("Address %(position)s is not valid: %(address)s"),
                        params={"position": position, "address": text},
                        code="malformed",
                    )
                    for position, text in parsed.malformed
                ]
            )
        limit = meetings_setting("max_invitees")
        if len(parsed.emails) > limit:
            raise forms.ValidationError(
                _("At most %(limit)s invitees; this list has %(count)s."),
                params={"limit": limit, "count": len(parsed.emails)},
                code="too_many",
            )
        if not parsed.emails:
            raise forms.ValidationError(_("Add at least one address."), code="empty")
        self.invitee_languages = parsed.languages
        return parsed.emails


class InviteeAddForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    language = forms.ChoiceField(
        label=_("Language of their emails"), choices=settings.LANGUAGES, required=False
    )

    def __init__(self, *args, event_language: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        same = _("Same as the event (%(language)s)") % {"language": names.get(event_language, "")}
        self.fields["language"].choices = [("", same), *settings.LANGUAGES]
