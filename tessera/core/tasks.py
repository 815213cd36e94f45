from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import audit, outbox, pow


@db_task()
def outbox_deliver_task(message_id: str) -> bool:
    return outbox.outbox_deliver(message_id=message_id)


@db_task()
def outbox_deliver_batch_task(message_ids: list) -> int:
    return outbox.outbox_deliver_batch(message_ids=message_ids)


@db_periodic_task(crontab(minute="*"))
def outbox_flush() -> int:
    return outbox.outbox_deliver_due()


@db_periodic_task(crontab(minute="17", hour="*"))
def security_log_prune() -> int:
    pruned = audit.security_log_prune()
    if pruned:
        audit.security_event_record(action="security_log.pruned", data={"entries": pruned})
    return pruned


@db_periodic_task(crontab(minute="41", hour="*"))
def spent_challenges_prune() -> int:
    return pow.spent_challenges_prune()
