"""Several threads and processes writing takes to one SQLite file at once: with WAL, a busy
timeout and BEGIN IMMEDIATE for writers, every write lands and none fails with "database is locked"."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from storage import NewTake, Store
from storage.database import create_engine_for

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from storage import NewTake, Store

    data_dir, count, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print("ready", flush=True)  # imports done: start together with the other writer
    if sys.stdin.readline().strip() != "go":
        sys.exit("never got the go signal")
    store = Store.open(Path(data_dir))  # a brand-new file: both processes migrate at once
    project = store.default_project()
    for i in range(count):
        store.add_take(project.id, NewTake(kind="tts", audio=os.urandom(2048), sample_rate=24000,
                                           duration=1.0, text=f"{label}-{i}"))
    store.close()
    print("ok", label)
    """
)


def new_take(label: str) -> NewTake:
    return NewTake(kind="tts", audio=os.urandom(2048), sample_rate=24000, duration=1.0, text=label)


def run_threads(workers: list[threading.Thread]) -> None:
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers)


def test_threads_share_one_store(tmp_path: Path) -> None:
    threads, per_thread = 4, 40
    errors: list[BaseException] = []
    with Store.open(tmp_path / "data") as store:
        project = store.default_project()
        barrier = threading.Barrier(threads + 1)
        done = threading.Event()
        reads = 0

        def write(n: int) -> None:
            try:
                barrier.wait()
                for i in range(per_thread):
                    store.add_take(project.id, new_take(f"t{n}-{i}"))
            except BaseException as exc:  # surfaced by the assert below
                errors.append(exc)

        def read() -> None:
            nonlocal reads
            try:
                barrier.wait()
                while not done.is_set():  # readers never block or fail while writers work
                    store.list_takes(project.id, limit=20)
                    store.count_takes(project.id)
                    reads += 1
            except BaseException as exc:
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        run_threads([threading.Thread(target=write, args=(n,)) for n in range(threads)])
        done.set()
        reader.join(timeout=30)

        assert errors == []
        assert reads > 0
        assert store.count_takes(project.id) == threads * per_thread
        texts = {t.text for t in store.list_takes(project.id, limit=1000)}
        assert texts == {f"t{n}-{i}" for n in range(threads) for i in range(per_thread)}


def test_threads_with_separate_stores(tmp_path: Path) -> None:
    """Two Store objects (two engines, two pools) on one file, like two app instances."""
    data = tmp_path / "data"
    stores = [Store.open(data), Store.open(data)]
    try:
        project = stores[0].default_project()
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def write(store: Store, label: str) -> None:
            try:
                barrier.wait()
                for i in range(60):
                    take = store.add_take(project.id, new_take(f"{label}-{i}"))
                    if i % 10 == 0:
                        store.set_starred(take.id, True)
            except BaseException as exc:
                errors.append(exc)

        run_threads([threading.Thread(target=write, args=(s, f"s{n}")) for n, s in enumerate(stores)])
        assert errors == []
        assert stores[1].count_takes(project.id) == 120
        assert stores[0].count_takes(project.id, starred=True) == 12
    finally:
        for s in stores:
            s.close()


def test_two_processes_write_to_one_new_file(tmp_path: Path) -> None:
    data, per_process = tmp_path / "data", 60
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data), str(per_process), label],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for label in ("p1", "p2")
    ]
    for proc in procs:  # wait until both interpreters have imported everything and stand at the gate
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "ready":
            raise AssertionError(proc.communicate(timeout=60)[1])
    for proc in procs:  # then open it for both at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("ok")

    with Store.open(data) as store:
        projects = store.list_projects()
        assert [p.name for p in projects] == ["My project"]  # the get-or-create race made one
        assert store.count_takes(projects[0].id) == 2 * per_process
        texts = {t.text for t in store.list_takes(projects[0].id, limit=1000)}
        assert texts == {f"{label}-{i}" for label in ("p1", "p2") for i in range(per_process)}
        assert len(set(store.blobs.iter_shas())) == 2 * per_process


def _open_new_file(path: str, gate: Any, results: Any) -> None:
    gate.wait()
    try:
        engine = create_engine_for(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x)")
        engine.dispose()
        results.put("ok")
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(repr(exc))


def test_many_processes_switch_one_new_file_to_wal(tmp_path: Path) -> None:
    """Switching a fresh file to WAL races for an exclusive lock that SQLite refuses at once
    (no busy wait); the race is rare, so it is run many times with several processes."""
    context = multiprocessing.get_context("fork")
    for round_ in range(25):
        path = str(tmp_path / f"r{round_}.db")
        gate, results = context.Event(), context.Queue()
        workers = [context.Process(target=_open_new_file, args=(path, gate, results)) for _ in range(6)]
        for w in workers:
            w.start()
        gate.set()
        outcomes = [results.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        assert outcomes == ["ok"] * len(workers)
