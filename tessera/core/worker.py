"""The in-process task worker of `manage.py serve`."""

from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY


def embedded_consumer():
    """A Huey consumer in threads that knows every app's tasks, periodic ones included."""
    autodiscover_modules("tasks")  # as `run_huey` does: a task module nobody imported is unknown
    return HUEY.create_consumer(workers=2, worker_type="thread", periodic=True, check_worker_health=True)
