from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import services


@db_periodic_task(crontab(minute="*"))
def meetings_reminders_queue() -> int:
    """Every minute: queue the reminders of events starting within 15 minutes (idempotent)."""
    return services.reminders_queue_due()
