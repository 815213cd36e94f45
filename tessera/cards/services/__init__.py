"""Writes of the cards product. Every interface (views, API, imports) goes through these functions.

Open the module of the thing you change; this package re-exports their public names, so callers write
`from tessera.cards import services` then `services.card_create(...)`:

- validation: phone numbers, web addresses, text lengths and `profile_clean`, shared by every write;
- profiles: a card's own writes (create, update, photo, publication, an administrator's assignment);
- directory: receivers of the directory's hooks (a member's card fed by Entra ID or SCIM);
- organisations: cards settings and accounts' organisation and membership hooks (the owner's card, a
  leaving member's card);
- invitations: invitations into an organisation with a card, one by one or from a CSV file;
- templates: an organisation's card templates;
- leads: the exchange form's leads, their consent and their follow-up;
- webhooks: lead webhooks and their durable, signed delivery.
"""

from .directory import (
    DIRECTORY_FIELDS,
    WRITABLE_BACK,
    directory_cards_release,
    member_card_sync,
    member_values_check,
    members_cards_create,
    members_cards_sync,
    organisation_templates_list,
)
from .invitations import (
    IMPORT_COLUMNS,
    MAX_IMPORT_ROWS,
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitations_import,
    invitations_import_preview,
)
from .leads import (
    EXCHANGE_CARD_LIMIT,
    LEAD_CONSENT_VERSION,
    LEADS_CSV_COLUMNS,
    ExchangeLimited,
    consent_text,
    lead_capture,
    lead_delete,
    lead_update,
    leads_csv,
    tags_parse,
)
from .organisations import cards_settings_update, member_cards_release, organisation_cards_open
from .profiles import (
    PersonalCardExists,
    account_names,
    acts_as_admin,
    card_activation_check,
    card_admin_edit,
    card_assign,
    card_create,
    card_photo_remove,
    card_photo_set,
    card_set_active,
    card_update,
    personal_card_create,
)
from .templates import COLOUR, contrast_ratio, template_delete, template_for, template_save
from .validation import (
    EMAIL_KINDS,
    MAX_ITEMS,
    PHONE_KINDS,
    at_most_characters,
    phone_normalise,
    profile_clean,
    url_normalise,
)
from .webhooks import (
    WEBHOOK_CLAIM_TIMEOUT,
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOKS,
    LeadsNotShared,
    lead_payload,
    webhook_active_set,
    webhook_create,
    webhook_delete,
    webhook_deliver,
    webhook_deliver_due,
    webhook_deliveries_release,
    webhook_ping,
    webhook_signature,
    webhooks_queue,
)

__all__ = [
    "COLOUR",
    "DIRECTORY_FIELDS",
    "EMAIL_KINDS",
    "EXCHANGE_CARD_LIMIT",
    "IMPORT_COLUMNS",
    "LEADS_CSV_COLUMNS",
    "LEAD_CONSENT_VERSION",
    "MAX_IMPORT_ROWS",
    "MAX_ITEMS",
    "PHONE_KINDS",
    "WEBHOOKS",
    "WEBHOOK_CLAIM_TIMEOUT",
    "WEBHOOK_MAX_ATTEMPTS",
    "WRITABLE_BACK",
    "ExchangeLimited",
    "LeadsNotShared",
    "PersonalCardExists",
    "account_names",
    "acts_as_admin",
    "at_most_characters",
    "card_activation_check",
    "card_admin_edit",
    "card_assign",
    "card_create",
    "card_photo_remove",
    "card_photo_set",
    "card_set_active",
    "card_update",
    "cards_settings_update",
    "consent_text",
    "contrast_ratio",
    "directory_cards_release",
    "invitation_accept",
    "invitation_by_token",
    "invitation_create",
    "invitations_import",
    "invitations_import_preview",
    "lead_capture",
    "lead_delete",
    "lead_payload",
    "lead_update",
    "leads_csv",
    "member_card_sync",
    "member_cards_release",
    "member_values_check",
    "members_cards_create",
    "members_cards_sync",
    "organisation_cards_open",
    "organisation_templates_list",
    "personal_card_create",
    "phone_normalise",
    "profile_clean",
    "tags_parse",
    "template_delete",
    "template_for",
    "template_save",
    "url_normalise",
    "webhook_active_set",
    "webhook_create",
    "webhook_delete",
    "webhook_deliver",
    "webhook_deliver_due",
    "webhook_deliveries_release",
    "webhook_ping",
    "webhook_signature",
    "webhooks_queue",
]
