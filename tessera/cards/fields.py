"""A card's profile and a lead's columns, declared once.

Forms, services, selectors, the admin and the privacy register take their field lists from here, and the
length limits from the model, so that a new profile field is added in the model and here only.
"""

from .models import Card, Lead

# Who the card holder is, then where: the text fields of a profile, in the order the pages show them.
PROFILE_IDENTITY = ("first_name", "last_name", "job_title", "company", "department", "bio", "website")
PROFILE_ADDRESS = ("office", "street", "postal_code", "city", "country")
PROFILE_TEXTS = PROFILE_IDENTITY + PROFILE_ADDRESS
# Lists of items, each with its own `public` flag.
PROFILE_LISTS = ("phones", "emails", "links", "custom_fields")
PROFILE = (*PROFILE_TEXTS, *PROFILE_LISTS, "visibility")
# Characters each text field takes at most: the column's own limit.
TEXT_LIMITS = {name: Card._meta.get_field(name).max_length for name in PROFILE_TEXTS}

# What a visitor leaves on a card, in the order every listing and export shows it.
LEAD_DETAILS = ("name", "email", "phone", "company", "job_title", "message")
# The card owner's follow-up of a lead.
LEAD_FOLLOW_UP = ("status", "tags", "notes")
LEAD_LIMITS = {name: Lead._meta.get_field(name).max_length for name in LEAD_DETAILS}
