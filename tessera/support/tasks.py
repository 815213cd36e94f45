from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import complaint_services


@db_periodic_task(crontab(minute="15", hour="8"))
def support_complaint_reminders() -> int:
    return complaint_services.complaint_reminders_send()
