from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .services import people_bulk, sync, writeback


@db_task()
def sync_run_task(run_id: int) -> str:
    return sync.sync_run(run_id=run_id).status


@db_periodic_task(crontab(minute="*"))
def sync_due_task() -> int:
    # Every minute: starts the deltas older than SYNC_INTERVAL_MINUTES and resumes runs a dead worker left.
    return len(sync.sync_due())


@db_task()
def writeback_deliver_task(writeback_id: int) -> bool:
    return writeback.writeback_deliver(writeback_id=writeback_id)


@db_periodic_task(crontab(minute="*"))
def writeback_deliver_due_task() -> int:
    return writeback.writeback_deliver_due()


@db_task()
def people_welcome_task(organisation_id: int) -> int:
    return people_bulk.people_welcome_send(organisation_id=organisation_id)


@db_periodic_task(crontab(minute="*"))
def people_welcome_due_task() -> int:
    # Every minute: the welcome emails a bulk sync left due whose task was lost (queue outage, crash).
    return people_bulk.people_welcome_send()
