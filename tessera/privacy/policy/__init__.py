"""The privacy policy and the Art. 30 register, both rendered from the register of activities.

Open the module of the thing you change; this package re-exports their public names, so callers write
`from tessera.privacy import policy` then `policy.policy_publish(...)`:

- content: the policy page's content (rights, cookies, sub-processors, activities) and the register snapshot
  a version is keyed by;
- export: the register as a JSON or CSV download;
- publishing: storing a new version and the emails of a substantial change, batched and resumable.
"""

from .content import (
    POLICY_TEXT_VERSION,
    RESTRICTION_EFFECTS,
    RIGHTS,
    cookie_table,
    policy_context,
    policy_current,
    register_hash,
    register_rows,
    register_snapshot,
    sub_processor_rows,
)
from .export import activity_dates, register_columns, register_csv, register_export
from .publishing import (
    NOTIFY_BATCH,
    NOTIFY_TASK,
    policy_change_notify,
    policy_notification_enqueue,
    policy_notifications_resume,
    policy_publish,
    policy_recipients_other,
)

__all__ = [
    "NOTIFY_BATCH",
    "NOTIFY_TASK",
    "POLICY_TEXT_VERSION",
    "RESTRICTION_EFFECTS",
    "RIGHTS",
    "activity_dates",
    "cookie_table",
    "policy_change_notify",
    "policy_context",
    "policy_current",
    "policy_notification_enqueue",
    "policy_notifications_resume",
    "policy_publish",
    "policy_recipients_other",
    "register_columns",
    "register_csv",
    "register_export",
    "register_hash",
    "register_rows",
    "register_snapshot",
    "sub_processor_rows",
]
