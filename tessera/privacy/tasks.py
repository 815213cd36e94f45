from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import dpo, policy, retention


@db_periodic_task(crontab(minute="7", hour="*"))
def privacy_retention_sweep() -> dict:
    return retention.retention_sweep()


@db_periodic_task(crontab(minute="30", hour="7"))
def privacy_deadline_reminders() -> int:
    return dpo.deadline_reminders_send()


@db_task()
def privacy_policy_notify(version_id: int, using: str = "default") -> int:
    return policy.policy_change_notify(version_id=version_id, using=using)


@db_periodic_task(crontab(minute="37", hour="*"))
def privacy_policy_notifications_resume() -> int:
    return policy.policy_notifications_resume()
