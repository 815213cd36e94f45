from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import analytics, services


@db_task()
def webhook_deliver_task(delivery_id: str) -> bool:
    return services.webhook_deliver(delivery_id=delivery_id)


@db_periodic_task(crontab(minute="*"))
def webhook_deliver_due() -> int:
    return services.webhook_deliver_due()


@db_periodic_task(crontab(minute="*"))
def stats_flush() -> int:
    return analytics.stats_flush()
