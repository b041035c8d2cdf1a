"""Worker processes that die with their parent.

A ``ProcessPoolExecutor`` worker busy on a slow page keeps running when its parent is killed with
``kill -9`` (nothing tells it). :func:`die_with_parent`, used as the pool's ``initializer``, starts
a daemon thread in the worker that checks every :data:`CHECK_INTERVAL` seconds whether the parent
process is still the one that started it, and ends the worker at once when it is not.

``prctl(PR_SET_PDEATHSIG)`` is not used: Linux sends that signal when the *thread* that started the
worker ends, and pools start workers from whichever thread submits first (a fetch thread that may
finish long before the pool does).
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["CHECK_INTERVAL", "die_with_parent"]

CHECK_INTERVAL = 0.25


def _watch(parent: int) -> None:
    while True:
        time.sleep(CHECK_INTERVAL)
        if os.getppid() != parent:
            os._exit(70)  # the parent is gone: nobody will read this worker's result


def die_with_parent() -> None:
    """Pool ``initializer``: end this worker process as soon as its parent process is gone."""
    parent = os.getppid()
    threading.Thread(target=_watch, args=(parent,), name="newsmon-parent-watch", daemon=True).start()
