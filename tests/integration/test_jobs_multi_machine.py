"""The multi-machine mode (issue #15) as far as one machine allows: the store on a real PostgreSQL, the job queue
on a real Redis, blobs in a shared data directory, and two `python -m studio worker` processes sharing one
script, each segment spoken once, then rendered by the studio. Both servers are started here, in temporary
directories, and stopped after; without their binaries the module is skipped."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import NO_TTS, ROOT
from tests.processes import stop_processes

pytest.importorskip("piper", reason=NO_TTS)
pytest.importorskip("huey")
pytest.importorskip("redis")
pytest.importorskip("psycopg")
pytestmark = pytest.mark.slow

REDIS = shutil.which("redis-server")
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
SCRIPT = "\n\n".join([
    "The ferry left the harbour an hour late.",
    "Nobody on board seemed to mind.",
    "A boy counted the gulls behind the boat.",
    "His mother read a letter twice, then folded it away.",
    "By noon the island was a grey line on the water.",
    "They reached the pier just before the rain.",
])
# The worker as `python -m studio worker`, with huey's INFO log on (task ids), which the command leaves off.
WORKER = ("import logging, runpy, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
          "sys.argv = ['studio', 'worker', '--workers', '1']; runpy.run_module('studio', run_name='__main__')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A throwaway redis-server on a free port, nothing persisted."""
    if REDIS is None:
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    import redis

    folder, port = tmp_path_factory.mktemp("redis"), free_port()
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                               "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not answer within 5 s")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_processes([server], timeout=30)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port; as root, run as the `postgres` user (it refuses root)."""
    if not PG_BIN:
        pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)")
    bin_dir = Path(PG_BIN[-1]).parent
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="retake-pg-"))  # not under pytest's root-only tmp tree
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        shutil.chown(folder, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def pg(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    started = False
    try:
        pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "-o",
           f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        started = True
        pg(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "retake")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/retake"
    finally:
        if started:
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_the_scripts_tables_work_on_postgresql(postgres_url, tmp_path):
    """`Store.open` with a PostgreSQL URL migrates it to head; scripts, segments, takes and the lexicon then
    behave as on SQLite."""
    from sqlalchemy import create_engine

    from storage import NewSegment, NewTake, Store
    from storage.database import current_revision, head_revision

    with Store.open(tmp_path / "data", postgres_url) as store:
        project = store.create_project("On PostgreSQL")
        segments = [NewSegment(section="One", speaker=None, text=text, voice_id=None, engine_id=None,
                               pause_after_s=0.5) for text in ("First line.", "Second line.", "Third line.")]
        script = store.create_script(project.id, "Pg", "text", segments, {"gate": True})
        rows = store.list_segments(script.id)
        assert [(s.position, s.text) for s in rows] == [(0, "First line."), (1, "Second line."), (2, "Third line.")]
        store.move_segment(rows[2].id, 0)
        first, second = store.split_segment(rows[0].id, len("First"))
        assert [s.text for s in store.list_segments(script.id)] == ["Third line.", "First", "line.", "Second line."]
        take = store.add_take(project.id, NewTake(kind="speech", audio=b"fLaC" + bytes(64), sample_rate=22050,
                                                  duration=1.0, text="Second line."))
        store.link_segment_take(rows[1].id, take.id, "hash-1")
        store.choose_segment_take(rows[1].id, take.id)
        assert store.get_segment(rows[1].id).chosen_take_id == take.id
        assert [t.id for t, _ in store.segment_takes(rows[1].id)] == [take.id]
        store.set_lexicon_entry(project.id, "GIF", "jiff")
        assert [(e.word, e.respelling) for e in store.lexicon(project.id)] == [("GIF", "jiff")]
        store.set_script_settings(script.id, {"gate": False})
        assert store.get_script(script.id).settings == {"gate": False}
        store.delete_script(script.id)
        assert store.list_scripts(project.id) == []
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.timeout(900)  # about 2 minutes on an idle 2-core machine; much longer when it is shared
def test_two_worker_processes_share_a_script_over_redis_and_postgresql(postgres_url, redis_url, models,
                                                                       tmp_path):
    """Each segment is spoken once, by one of the two workers, and both take part; the studio then renders
    the takes they stored (blobs in the shared data directory, rows in PostgreSQL)."""
    from pipelines import audio as au
    from studio.config import Settings
    from studio.scripts import ScriptImport
    from studio.service import Studio

    data_dir = tmp_path / "shared"
    studio = Studio.open(Settings(data_dir=data_dir, database_url=postgres_url, redis_url=redis_url,
                                  max_audio_seconds=60), models=models)
    env = {**os.environ, "RETAKE_DATA_DIR": str(data_dir), "RETAKE_DATABASE_URL": postgres_url,
           "RETAKE_REDIS_URL": redis_url, "HF_HUB_OFFLINE": "1"}
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    workers: list[subprocess.Popen] = []
    try:
        project = studio.projects.list()[0].id
        script = studio.scripts.create(ScriptImport(project, "Shared", SCRIPT))
        # The gate's models are not what is tested here: without it, each worker only loads Piper.
        settings = studio.store.get_script(script.id).settings
        studio.store.set_script_settings(script.id, {**settings, "gate": False})
        for log in logs:
            with open(log, "w") as out:
                workers.append(subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=out,
                                                stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while not all("consumer started" in log.read_text().lower() for log in logs):
            assert all(w.poll() is None for w in workers), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, [log.read_text()[-2000:] for log in logs]
            time.sleep(0.1)

        queued = studio.script_jobs.generate_all(script.id)
        assert len(queued) == 6
        deadline = time.monotonic() + 240
        rows = studio.scripts.status(script.id)
        while not all(r.state == "ready" for r in rows):
            assert all(w.poll() is None for w in workers), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, [r.state for r in rows]
            failed = [log.read_text()[-3000:] for log in logs if "Unhandled exception" in log.read_text()]
            assert not failed, failed
            time.sleep(0.2)
            rows = studio.scripts.status(script.id)
        assert studio.script_jobs.wait(queued, timeout=60) == ["made"] * 6
        assert [len(studio.store.segment_takes(r.segment.id)) for r in rows] == [1] * 6
        assert not studio.store.get_script(script.id).settings.get("generation_requested")
    finally:
        stop_processes(workers)

    try:
        ran = [set(re.findall(r"Executing \S*generate_segment: ([0-9a-f-]+)", log.read_text()))
               for log in logs]
        ids = {result.id for result in queued}
        assert ran[0] & ids and ran[1] & ids, "both workers should have spoken some of the segments"
        assert not ran[0] & ran[1] and (ran[0] | ran[1]) >= ids  # each job ran once, in one worker
        result = studio.scripts.render(script.id, fmt="mp3")
        decoded = au.load(result.data)
        assert decoded.duration == pytest.approx(result.take.duration, abs=0.15) and decoded.duration > 5
        spans = json.loads(result.manifest_json)["spans"]
        assert [span["segment_id"] for span in spans] == [r.segment.id for r in rows]
    finally:
        studio.close()


def test_a_killed_workers_redis_lock_expires_on_any_redis_version(redis_url, models, tmp_path):
    """Debian's Redis (7.0) has no hash-field expiry, so huey's own locks would never expire there: a worker
    killed mid-segment would leave that segment "busy" for ever. The segment lock is redis-py's, with an
    expiry: while a dead worker's lock lives the job answers "busy"; once it has expired the job speaks."""
    import redis

    from studio.config import Settings
    from studio.scripts import ScriptImport
    from studio.service import Studio

    studio = Studio.open(Settings(data_dir=tmp_path / "data", redis_url=redis_url), models=models)
    try:
        project = studio.projects.list()[0].id
        script = studio.scripts.create(ScriptImport(project, "Locked", "One line a dead worker held.",
                                                    engine_id="piper-joe-embedded", gate=False))
        segment = studio.scripts.status(script.id)[0].segment.id
        queue = studio.script_jobs.queue
        dead = redis.Redis.from_url(redis_url).lock(f"{queue.name}.lock.segment-{segment}", timeout=2)
        assert dead.acquire(blocking=False)  # what a killed worker leaves behind (never released)
        assert studio.script_jobs._run_segment(segment) == "busy"
        assert studio.scripts.status(script.id)[0].state == "missing"
        deadline = time.monotonic() + 10
        while dead.locked():
            assert time.monotonic() < deadline, "the dead worker's lock did not expire"
            time.sleep(0.2)
        assert studio.script_jobs._run_segment(segment) == "made"
        assert studio.scripts.status(script.id)[0].state == "ready"
    finally:
        studio.close()
