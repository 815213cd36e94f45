from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .services import push


@db_task()
def push_run_task(run_id: int) -> str:
    run = push.push_run(run_id=run_id)
    return run.status if run else "taken"


@db_periodic_task(crontab(minute="*"))
def push_due_task() -> int:
    # Every minute: resumes runs a dead worker left, then starts the re-pushes whose window closed.
    resumed = push.push_resume_due()
    return len(resumed) + len(push.repush_due())
