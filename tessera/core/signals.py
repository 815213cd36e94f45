from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from .audit import security_event_record

_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


READ_IDS_MAX = 200  # a page of the back-office lists shows 100 rows; "show all" is bounded by Django too


def admin_action_record(*, user, action_flag: int, model: str, object_id, change: str = "") -> None:
    """One security event for one thing a staff member did in the back-office."""
    security_event_record(
        action=_ACTIONS.get(action_flag, "admin.other"),
        actor=user,
        data={"model": model, "object_id": str(object_id or ""), "change": change[:500]},
    )


def admin_read_record(*, user, model: str, object_ids, view: str, request=None) -> None:
    """One security event for one back-office page that showed personal data: who read which rows."""
    ids = [str(object_id) for object_id in object_ids]
    security_event_record(
        action="admin.viewed",
        actor=user,
        request=request,
        data={"model": model, "view": view, "object_ids": ids[:READ_IDS_MAX], "rows": len(ids)},
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="tessera.audit.admin")
def record_admin_action(sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs):
    if not created or raw:
        return
    content_type = instance.content_type
    admin_action_record(
        user=instance.user,
        action_flag=instance.action_flag,
        model=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id=instance.object_id,
        change=instance.get_change_message(),
    )
