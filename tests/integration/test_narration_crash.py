"""Issue #17, fault 4: a narration, its attempts and its chunk map are one unit of work. A process killed
with SIGKILL right after the first take row is written (inside the transaction), or as soon as a take row is
visible from outside, leaves after a restart either the whole narration or nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from storage import Store
from tests.conftest import ROOT

TEXT = "The first sentence is here. The second follows it. A third one ends the narration."
CHUNKS = 3

SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipelines.manager import ModelManager
    from storage import UnitOfWork
    from studio.config import Settings
    from studio.service import Studio
    from tests.fakes import FAKE_ENGINE, catalog_with_fake

    data_dir, hold = Path(sys.argv[1]), sys.argv[2] == "hold"
    models = ModelManager(catalog_with_fake(), local_paths={FAKE_ENGINE: data_dir})
    studio = Studio.open(Settings(data_dir=data_dir), models=models)
    project = studio.projects.list()[0].id
    original = UnitOfWork.add_take

    def add_take(self, *args, **kwargs):
        take = original(self, *args, **kwargs)
        if hold:  # the first row is written, the transaction still open: say so and wait for the kill
            print("ROW", take.id, flush=True)
            time.sleep(60)
        return take

    UnitOfWork.add_take = add_take
    print("READY", flush=True)
    list(studio.speak.speak(project, sys.argv[3], engine_id=FAKE_ENGINE, gate=False, seed=5))
    print("DONE", flush=True)
""")


def start(data_dir: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(data_dir), mode, TEXT], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stored_takes(data_dir: Path) -> list[tuple[str, int | None]]:
    with Store.open(data_dir) as store:
        store.check_integrity()
        return [(t.kind, t.parent_id) for p in store.list_projects() for t in store.list_takes(p.id, limit=1000)]


def test_kill_right_after_the_first_take_row_leaves_nothing(tmp_path):
    data_dir = tmp_path / "data"
    process = start(data_dir, "hold")
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("ROW"):
                break
        else:
            raise AssertionError(f"the narration never reached its first row: {process.stderr.read()[-2000:]}")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert stored_takes(data_dir) == [], "a killed narration left rows behind"


def test_kill_as_soon_as_a_take_is_visible_finds_the_whole_narration(tmp_path):
    data_dir = tmp_path / "data"
    process = start(data_dir, "run")
    try:
        assert process.stdout.readline().startswith("READY")  # type: ignore[union-attr]
        db = data_dir / "retake.db"
        deadline = time.monotonic() + 60
        seen: list[tuple[str, int | None]] = []
        while time.monotonic() < deadline and process.poll() is None:
            seen = stored_takes(data_dir) if db.exists() else []
            if seen:
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    after = stored_takes(data_dir)
    assert sorted(k for k, _ in after) == ["attempt"] * CHUNKS + ["speech"], after
    assert not seen or sorted(k for k, _ in seen) == sorted(k for k, _ in after), "a half narration was visible"
