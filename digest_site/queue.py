"""Hand work to the queue by task name, so services never import a tasks module.

Tasks import services; if services imported tasks back, the two would form a cycle. A service
names the task instead ("accounts.tasks.subscribe"); the task object is looked up in the Celery
registry (importing its module on first use), so tests that patch `task.delay` still see the call
and the embedded default (CELERY_TASK_ALWAYS_EAGER) still runs it in-process.
"""

from __future__ import annotations

from importlib import import_module

from .celery import app


def task_named(name: str):
    if name not in app.tasks:
        import_module(name.rpartition(".")[0])  # registers the module's tasks
    return app.tasks[name]


def enqueue(name: str, *args, countdown: float | None = None, **kwargs):
    """Publish task `name` with these arguments (after `countdown` seconds if given)."""
    task = task_named(name)
    if countdown is None:
        return task.delay(*args, **kwargs)
    if args:
        return task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
    return task.apply_async(kwargs=kwargs, countdown=countdown)
