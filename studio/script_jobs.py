"""Generating a whole script as background jobs on huey: one job per segment, so several workers (threads in the
app, `python -m studio worker` processes, other machines on the same Redis) share a script between them.

The queue lives in SQLite in the data directory by default (nothing to install or run) and on Redis when
RETAKE_REDIS_URL is set. Queued jobs outlive the app. A job running when its worker is killed is lost with it,
so a script whose generation was asked for stays marked until none of its segments needs audio, and every
consumer that starts queues that script's remaining segments again. Segments are never spoken twice: a job
takes the segment's lock, and a segment whose chosen take matches it (`Scripts.generate_segment`) is skipped.
"""
from __future__ import annotations

import logging
from collections.abc import Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from huey.api import Result
from huey.exceptions import TaskException, TaskLockedException

from pipelines.base import EngineError

from storage import Script

from .config import Settings
from .scripts import Scripts

log = logging.getLogger(__name__)
QUEUE_NAME = "retake"
REQUESTED = "generation_requested"  # in a script's settings: "generate all" was asked and is not finished
LOCK_TTL_S = 3600  # a lock held by a killed worker expires; no single segment takes an hour


def make_queue(settings: Settings) -> Huey:
    if settings.redis_url:  # each signed-in user's jobs in their own queue, run against their own store
        name = QUEUE_NAME if settings.owner is None else f"{QUEUE_NAME}-{settings.data_dir.name}"
        return RedisHuey(name, url=settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(settings.data_dir / "jobs.sqlite3"))


@dataclass(frozen=True)
class Progress:
    """How far a script's generation is: segments with matching audio, and those still waiting."""

    done: int
    waiting: int
    locked: int
    requested: bool

    @property
    def total(self) -> int:
        return self.done + self.waiting + self.locked


class _QuietConsumer(Consumer):
    """A consumer that leaves signal handling to the app it runs in (huey's would swallow Ctrl-C and SIGTERM)."""

    def _set_signal_handlers(self) -> None:
        pass


class ScriptJobs:
    def __init__(self, scripts: Scripts, queue: Huey) -> None:
        self.scripts = scripts
        self.queue = queue
        self._segment = queue.task(name="retake.generate_segment", retries=1, retry_delay=2)(self._run_segment)
        self._consumer: Consumer | None = None

    def generate_all(self, script_id: int, *, waiting: Container[int] = frozenset()) -> list[Result]:
        """Queue every segment that needs audio (none: the script is up to date), but those whose job is `waiting`
        in the queue already; `wait` on what comes back."""
        script = self.scripts.store.get_script(script_id)
        pending = self.scripts.pending(script_id)
        self._mark(script, bool(pending))
        return [self._segment(segment_id) for segment_id in pending if segment_id not in waiting]

    def wait(self, results: list[Result], timeout: float | None = None) -> list[str]:
        """Each job's outcome ("made", "skipped", "busy", "gone"); a job that failed (after its retry) raises
        EngineError with the engine's own message."""
        outcomes = []
        for result in results:
            try:
                outcomes.append(result.get(blocking=True, timeout=timeout))
            except TaskException as error:
                raise EngineError(f"A segment could not be spoken: {error.metadata.get('error', error)}") from None
        return outcomes

    def progress(self, script_id: int) -> Progress:
        rows = self.scripts.status(script_id)
        locked = sum(1 for r in rows if r.segment.locked and r.state != "ready")
        waiting = sum(1 for r in rows if r.needs_audio)
        requested = bool(self.scripts.store.get_script(script_id).settings.get(REQUESTED))
        return Progress(len(rows) - waiting - locked, waiting, locked, requested)

    def resume(self) -> int:
        """Queue again what unfinished generations still need (their running jobs may have died with a worker,
        holding their segment's lock: on SQLite, whose locks cannot expire, those locks are released here, since
        on one machine no other worker can be speaking them; Redis locks expire after LOCK_TTL_S)."""
        queued = 0
        waiting = self._queued_segments()
        for project in self.scripts.store.list_projects():
            for script in self.scripts.store.list_scripts(project.id):
                if script.settings.get(REQUESTED):
                    pending = self.scripts.pending(script.id)
                    if isinstance(self.queue, SqliteHuey):  # never on Redis: another machine may be speaking it
                        self.queue.flush_locks(*(f"segment-{segment_id}" for segment_id in pending))
                    queued += len(self.generate_all(script.id, waiting=waiting))  # lost jobs only
        return queued

    def _queued_segments(self) -> set[int]:
        """Segments whose job still waits in the queue (or for its retry): `resume` leaves those alone, so a
        worker started while they wait does not queue them twice (the copy would run first and leave the job
        the caller waits on "skipped")."""
        tasks = self.queue.pending() + self.queue.scheduled()
        return {task.args[0] for task in tasks if isinstance(task, self._segment.task_class) and task.args}

    @contextmanager
    def _segment_lock(self, segment_id: int) -> Iterator[None]:
        """One worker speaks a segment at a time (TaskLockedException for the others). On Redis the lock is
        redis-py's (SET NX with an expiry, released only by its holder), so a lock a killed worker held expires
        after LOCK_TTL_S on any server version (huey's own Redis locks expire on Redis 7.4+ only); huey's
        SQLite locks never expire and are cleared by `resume`."""
        name = f"segment-{segment_id}"
        if not isinstance(self.queue, RedisHuey):
            with self.queue.lock_task(name):
                yield
            return
        from redis.exceptions import LockError  # installed with huey's Redis mode

        lock = self.queue.storage.conn.lock(f"{self.queue.name}.lock.{name}", timeout=LOCK_TTL_S, blocking=False)
        if not lock.acquire():
            raise TaskLockedException(f"{name} is being spoken")
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:  # held past LOCK_TTL_S and expired: nothing to release
                pass

    def _run_segment(self, segment_id: int) -> str:
        try:
            with self._segment_lock(segment_id):
                made = self.scripts.generate_segment(segment_id)
        except TaskLockedException:
            return "busy"  # another worker is speaking it
        except LookupError:  # the segment or its script was deleted after the job was queued
            return "gone"
        script_id = self.scripts.store.get_segment(segment_id).script_id
        if not self.scripts.pending(script_id):
            self._mark(self.scripts.store.get_script(script_id), False)
        return "made" if made is not None else "skipped"

    def _mark(self, script: Script, requested: bool) -> None:
        if bool(script.settings.get(REQUESTED)) != requested:
            self.scripts.store.set_script_settings(script.id, {**script.settings, REQUESTED: requested})

    def start_workers(self, workers: int = 1) -> Consumer:
        """Worker threads in this process (the app's own), after queueing what interrupted generations need."""
        if self._consumer is not None:
            return self._consumer
        self.resume()
        consumer = _QuietConsumer(self.queue, workers=workers, worker_type="thread", periodic=False,
                                  initial_delay=0.05, max_delay=1.0, check_worker_health=False)
        consumer.start()
        self._consumer = consumer
        return consumer

    def stop_workers(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def run_worker(self, workers: int = 1, **options: Any) -> None:
        """`python -m studio worker`: a worker process (or machine) until it is stopped (Ctrl-C, SIGTERM)."""
        self.resume()
        Consumer(self.queue, workers=workers, worker_type="thread", periodic=False, max_delay=1.0,
                 **options).run()
