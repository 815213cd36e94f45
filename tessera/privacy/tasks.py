from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import dpo, retention


@db_periodic_task(crontab(minute="7", hour="*"))
def privacy_retention_sweep() -> dict:
    return retention.retention_sweep()


@db_periodic_task(crontab(minute="30", hour="7"))
def privacy_deadline_reminders() -> int:
    return dpo.deadline_reminders_send()
