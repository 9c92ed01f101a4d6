"""Long work on a thread of its own, while the pages keep answering: how far it is, and
a way to stop it.

An export saved from the window (``deskwork.exports.Saving``) and a large import's
check and save (``deskwork.views.imports``) run as a ``Job``. The work is given the job
and calls ``job.step(done, count)`` as it goes: the pages' progress bars ask ``status``,
and once Cancel was pressed the next step raises ``Cancelled``, so the work stops where
it is and its ``with`` blocks undo what it began (a write transaction rolls back, a file
written under a temporary name is removed). A failure is kept for the page to tell, and
its traceback goes to the log.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from deskwork.errors import Cancelled

log = logging.getLogger("deskwork")

#: How long a finished job's outcome is still told to the pages that ask.
TOLD_FOR_S = 15.0


class Job:
    """``work(job)`` on a thread of its own; ``state`` is running, done, cancelled or
    failed, ``result`` what the work returned."""

    def __init__(self, name: str, work: Callable[[Job], Any]) -> None:
        self.name = name
        self.work = work
        self.state = "running"
        self.done = 0
        self.count: int | None = None
        self.phase = ""
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished = 0.0
        self.cancelled = threading.Event()
        # The work runs as the request that started it: who acts (``history.ACTING``) too.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name=f"deskwork-{name}", daemon=True
        )

    def start(self) -> Job:
        self._thread.start()
        return self

    def step(self, done: int, count: int | None = None, phase: str | None = None) -> None:
        """How far the work is; raises ``Cancelled`` once the job was cancelled."""
        self.done = done
        if count is not None:
            self.count = count
        if phase is not None:
            self.phase = phase
        if self.cancelled.is_set():
            raise Cancelled(f"{self.name} was cancelled.")

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def stale(self) -> bool:
        """Finished long enough ago that nobody is told of it any more."""
        return not self.running and time.monotonic() - self.finished > TOLD_FOR_S

    def cancel(self) -> None:
        if self.running:
            self.cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the work to end; whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.result = self.work(self)
            self.state = "done"
        except Cancelled:
            self.state = "cancelled"
        except Exception as error:  # told on the page; the traceback goes to the log
            log.exception("%s failed", self.name)
            self.state, self.error = "failed", error
        finally:
            self.finished = time.monotonic()

    @property
    def reason(self) -> str:
        """Why it failed, in words."""
        return "" if self.error is None else (str(self.error) or type(self.error).__name__)
