"""SIGKILL drill (issue #17): a studio process is killed at randomised moments while it synthesises a
narration, while it stores one, during a project export and during an import. After each kill the studio is
opened again on the same files (its start-up housekeeping runs) and then collected with no grace period:
`PRAGMA integrity_check` is ok, nothing is half visible (a narration missing attempts, a take or voice clip
without its audio), no orphan blob and no temp file is left, and everything the process reported done before
it died is still there.

The worker is a real studio (`Studio.open`) on the fake speech engine (`tests.fakes`) so that many narrations
fit in a few seconds; it prints markers (CHUNK, STORING, DONE) that the drill times its kills from.
RETAKE_DRILL_KILLS sets the kills per phase (default 3, as in CI; a full drill: 25)."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from storage import NotFoundError
from studio import housekeeping, narrations
from studio.config import Settings
from studio.service import Studio
from tests.conftest import ROOT
from tests.fakes import FAKE_ENGINE

pytestmark = pytest.mark.drill

KILLS = int(os.environ.get("RETAKE_DRILL_KILLS", "3"))
TEXT = ("The keeper climbed the stairs at dusk. The lamp was lit before the storm. Ships passed the rocks "
        "in safety. Nobody thanked him for it. He did not mind at all.")

WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pipelines.manager import ModelManager
    from storage import UnitOfWork
    from studio.config import Settings
    from studio.service import Studio
    from tests.fakes import FAKE_ENGINE, catalog_with_fake

    data_dir, weights, phase, archive, text = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

    def say(*words):  # one write per marker: with PYTHONUNBUFFERED a print's pieces are separate writes
        sys.stdout.write(" ".join(str(word) for word in words) + "\\n")
        sys.stdout.flush()

    models = ModelManager(catalog_with_fake(), local_paths={FAKE_ENGINE: Path(weights)})
    studio = Studio.open(Settings(data_dir=data_dir), models=models)
    project = studio.projects.list()[0].id
    original = UnitOfWork.add_take

    def add_take(self, *args, **kwargs):
        say("STORING")
        return original(self, *args, **kwargs)

    UnitOfWork.add_take = add_take
    say("READY")
    while True:
        if phase in ("synthesis", "storing"):
            for event in studio.speak.speak(project, text, engine_id=FAKE_ENGINE, gate=False):
                if event.kind == "chunk":
                    say("CHUNK")
            say("DONE take", event.take.id)
        elif phase == "export":
            studio.projects.export(project)
            say("DONE export")
        else:
            say("DONE project", studio.projects.import_archive(archive).id)
""")


class Worker:
    """One studio process; its markers are read on a thread so the drill can wait for the n-th of a kind."""

    def __init__(self, data_dir: Path, weights: Path, phase: str, archive: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(data_dir), str(weights), phase, str(archive), TEXT], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.lines: list[str] = []
        self.seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if not line.endswith("\n"):
                break  # the kill cut this marker short: it was never wholly said
            with self.seen:
                self.lines.append(line.strip())
                self.seen.notify_all()
        with self.seen:
            self.lines.append("EOF")
            self.seen.notify_all()

    def wait_for(self, marker: str, count: int = 1, timeout: float = 60.0) -> None:
        def reached() -> bool:
            return sum(1 for line in self.lines if line.startswith(marker)) >= count or "EOF" in self.lines

        with self.seen:
            if not self.seen.wait_for(reached, timeout) or "EOF" in self.lines:
                stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
                raise AssertionError(f"the worker never printed {marker} x{count}: {self.lines[-5:]} {stderr[-2000:]}")

    def kill(self) -> list[str]:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL, self.process.returncode
        with self.seen:
            return list(self.lines)


def kill_at_random(worker: Worker, phase: str, rng: random.Random) -> list[str]:
    """Wait for the moment the phase is about, then a random few milliseconds more, and kill."""
    worker.wait_for("READY")
    if phase == "synthesis":
        worker.wait_for("CHUNK", rng.randint(1, 6))
        time.sleep(rng.uniform(0, 0.02))
    elif phase == "storing":
        worker.wait_for("STORING", rng.randint(1, 12))
        time.sleep(rng.uniform(0, 0.005))
    else:  # export or import: one whole run first, to know how long one takes, then somewhere in the next
        start = time.monotonic()
        worker.wait_for("DONE")
        time.sleep(rng.uniform(0, time.monotonic() - start))
    return worker.kill()


def committed(lines: list[str]) -> tuple[set[int], set[int]]:
    """The takes and projects the worker reported done (so committed) before it died."""
    takes = {int(line.split()[2]) for line in lines if line.startswith("DONE take")}
    projects = {int(line.split()[2]) for line in lines if line.startswith("DONE project")}
    return takes, projects


def verify(data_dir: Path, models, takes_done: set[int], projects_done: set[int]) -> dict[str, int]:
    """Restart on the files and check them; returns the faults found by kind (all zero when clean)."""
    faults = {"integrity": 0, "half_visible": 0, "orphans": 0, "temp_files": 0, "lost": 0}
    left = sum(1 for p in data_dir.rglob("*") if p.name.endswith(".tmp"))  # what the kill interrupted
    with sqlite3.connect(data_dir / "retake.db") as db:
        if db.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
            faults["integrity"] += 1
    studio = Studio.open(Settings(data_dir=data_dir), models=models)  # the restart, with its housekeeping
    try:
        store = studio.store
        housekeeping.collect_garbage(store, studio.settings, 0)
        with sqlite3.connect(data_dir / "retake.db") as db:
            takes = db.execute("SELECT id, kind, audio_sha FROM takes").fetchall()
            clips = [row[0] for row in db.execute("SELECT audio_sha FROM voice_clips")]
            projects = {row[0] for row in db.execute("SELECT id FROM projects")}
        for take_id, kind, sha in takes:
            if sha not in store.blobs:
                faults["half_visible"] += 1
            if kind == "speech":
                try:
                    narrations.kept_chunks(store, store.get_take(take_id))
                except (ValueError, NotFoundError):
                    faults["half_visible"] += 1
        faults["half_visible"] += sum(1 for sha in clips if sha not in store.blobs)
        referenced = {sha for _, _, sha in takes} | set(clips)
        blob_files = [p for p in store.blobs.root.rglob("*") if p.is_file()]
        faults["orphans"] = sum(1 for p in blob_files if p.name not in referenced and not p.name.endswith(".tmp"))
        faults["temp_files"] = sum(1 for p in data_dir.rglob("*") if p.name.endswith(".tmp"))
        faults["lost"] = len(takes_done - {t[0] for t in takes}) + len(projects_done - projects)
    finally:
        studio.close()
    return {**faults, "left": left}


@pytest.fixture(scope="module")
def source(tmp_path_factory, models) -> tuple[Path, Path]:
    """A studio with a few narrations (for export) and its project exported once (for import)."""
    data_dir = tmp_path_factory.mktemp("kill-source") / "data"
    studio = Studio.open(Settings(data_dir=data_dir), models=models)
    try:
        project = studio.projects.list()[0].id
        for seed in range(12):
            list(studio.speak.speak(project, TEXT, engine_id=FAKE_ENGINE, gate=False, seed=seed))
        archive = tmp_path_factory.mktemp("kill-archive") / "project.retake.zip"
        archive.write_bytes(studio.projects.export(project).read_bytes())
    finally:
        studio.close()
    return data_dir, archive


@pytest.mark.parametrize("phase", ["synthesis", "storing", "export", "import"])
def test_kill(phase, source, tmp_path, models, tally):
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(source[0], data_dir)
    weights = tmp_path / "weights"
    weights.mkdir()
    rng = random.Random(f"{phase}-{os.environ.get('RETAKE_DRILL_SEED', '17')}")
    problems = []
    for _ in range(KILLS):
        lines = kill_at_random(Worker(data_dir, weights, phase, source[1]), phase, rng)
        tally.add("kills")
        faults = verify(data_dir, models, *committed(lines))
        tally.add("temp_files_left_by_kills", faults.pop("left"))
        tally.lost(faults["lost"])
        tally.add("cases")
        if any(faults.values()):
            problems.append(faults)
        else:
            tally.add("clean_restarts")
    assert problems == [], f"{phase}: restarts after a kill found {problems}"
