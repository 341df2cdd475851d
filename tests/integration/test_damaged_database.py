"""Issue #17, fault 8: a damaged database file stops `python app.py` and the CLI with one sentence (which file,
what to do) and a non-zero exit code, never a traceback or a half-working app."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from storage import DatabaseDamaged, NewTake, Store
from tests.conftest import ROOT


def filled(data_dir: Path) -> Path:
    """A database with enough rows to span many pages, checkpointed into the main file."""
    with Store.open(data_dir) as store:
        project = store.create_project("Damaged")
        rng = np.random.default_rng(0)
        for i in range(300):
            store.add_take(project.id, NewTake(kind="recording", audio=rng.bytes(64), sample_rate=16000,
                                               duration=1.0, text=f"take {i} " + "words " * 40))
    db = data_dir / "retake.db"
    assert not (data_dir / "retake.db-wal").exists() or (data_dir / "retake.db-wal").stat().st_size == 0
    return db


def damage(db: Path, where: str) -> None:
    data = bytearray(db.read_bytes())
    at = 0 if where == "header" else len(data) // 2
    data[at:at + 4096] = np.random.default_rng(1).bytes(4096)
    db.write_bytes(bytes(data))


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RETAKE_DATA_DIR": str(data_dir), "RETAKE_PORT": "1"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("where", ["header", "middle"])
def test_damaged_database_stops_app_and_cli_with_one_sentence(tmp_path, where):
    data_dir = tmp_path / "data"
    db = filled(data_dir)
    damage(db, where)
    for args in (["-m", "studio", "projects", "list"], ["-m", "studio", "takes", "list"], ["app.py"]):
        result = run(args, data_dir)
        said = result.stderr.strip()
        assert result.returncode != 0, f"{args} exited 0: {said[-500:]}"
        assert "Traceback" not in said, f"{args} printed a traceback:\n{said[-2000:]}"
        assert str(db) in said and "damaged" in said and "backup" in said, said[-1000:]
        assert len([line for line in said.splitlines() if "damaged" in line]) == 1


def test_a_whole_database_passes_the_check(tmp_path):
    data_dir = tmp_path / "data"
    filled(data_dir)
    with Store.open(data_dir) as store:
        store.check_integrity()
    damage(data_dir / "retake.db", "middle")
    with pytest.raises(DatabaseDamaged, match="restore the file from your backup"):
        with Store.open(data_dir) as store:
            store.check_integrity()
