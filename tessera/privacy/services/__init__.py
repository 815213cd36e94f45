"""Writes of the privacy core, one module per subject. Import them from here: which module holds a
service is not part of its name.

- `consent`: the consent ledger, unsubscribe links, marketing emails;
- `limits`: restriction of processing and objections in force, and the emails they hold;
- `requests`: rights requests, their deadlines, and carrying them out (the DPO console too);
- `portal`: the rights a person exercises on their own data, each in one transaction;
- `directives`: directives after death, from their recording to their execution;
- `links`: the one-time links of the rights portal.
"""

from ..selectors import consent_active, limit_active
from ..subjects import subject_digest, subject_export, subject_resolve
from .consent import (
    UNSUBSCRIBE_SALT,
    consent_activity_record,
    consent_record,
    consent_text_archive,
    consent_unsubscribe,
    consent_withdraw,
    marketing_email_queue,
    text_hash,
    unsubscribe_consent,
    unsubscribe_token,
)
from .directives import (
    DIRECTIVE_EXPORT_DAYS,
    death_notice_present,
    directive_carry_out,
    directive_export_check,
    directive_export_download,
    directive_revoke,
    directive_set,
)
from .limits import (
    UNHELD_KINDS_PREFIX,
    limit_add,
    limit_lift,
    outbox_hold_check,
)
from .links import (
    PORTAL_MAX_AGE,
    PORTAL_SALT,
    RightsLinkError,
    portal_email,
    rights_link_check,
    rights_link_consume,
    rights_link_request,
    token_hash,
)
from .portal import (
    rights_export,
    rights_request_directive,
    rights_request_object,
    rights_request_rectify,
    rights_request_withdraw,
    rights_restrict,
)
from .requests import (
    RightsRequestError,
    erasure_apply,
    months_later,
    requester_language,
    rights_due_at,
    rights_erase,
    rights_extension_refusal,
    rights_request_close,
    rights_request_create,
    rights_request_erase,
    rights_request_export,
    rights_request_extend,
    rights_request_restrict,
    rights_request_update,
    rights_request_uphold_objection,
    security_log_shred_for,
    subject_holds_data,
)

__all__ = [
    "DIRECTIVE_EXPORT_DAYS",
    "PORTAL_MAX_AGE",
    "PORTAL_SALT",
    "UNHELD_KINDS_PREFIX",
    "UNSUBSCRIBE_SALT",
    "RightsLinkError",
    "RightsRequestError",
    "consent_active",
    "consent_activity_record",
    "consent_record",
    "consent_text_archive",
    "consent_unsubscribe",
    "consent_withdraw",
    "death_notice_present",
    "directive_carry_out",
    "directive_export_check",
    "directive_export_download",
    "directive_revoke",
    "directive_set",
    "erasure_apply",
    "limit_active",
    "limit_add",
    "limit_lift",
    "marketing_email_queue",
    "months_later",
    "outbox_hold_check",
    "portal_email",
    "requester_language",
    "rights_due_at",
    "rights_erase",
    "rights_export",
    "rights_extension_refusal",
    "rights_link_check",
    "rights_link_consume",
    "rights_link_request",
    "rights_request_close",
    "rights_request_create",
    "rights_request_directive",
    "rights_request_erase",
    "rights_request_export",
    "rights_request_extend",
    "rights_request_object",
    "rights_request_rectify",
    "rights_request_restrict",
    "rights_request_update",
    "rights_request_uphold_objection",
    "rights_request_withdraw",
    "rights_restrict",
    "security_log_shred_for",
    "subject_digest",
    "subject_export",
    "subject_holds_data",
    "subject_resolve",
    "text_hash",
    "token_hash",
    "unsubscribe_consent",
    "unsubscribe_token",
]
