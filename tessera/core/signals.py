from django.contrib.admin.models import LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from .audit import security_event_record

_ACTIONS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}


@receiver(post_save, sender=LogEntry, dispatch_uid="tessera.audit.admin")
def record_admin_action(sender, instance: LogEntry, created: bool, **kwargs):
    if not created:
        return
    security_event_record(
        action=_ACTIONS.get(instance.action_flag, "admin.other"),
        actor=instance.user,
        data={
            "model": f"{instance.content_type.app_label}.{instance.content_type.model}"
            if instance.content_type
            else "",
            "object_id": instance.object_id or "",
            "change": instance.get_change_message()[:500],
        },
    )
