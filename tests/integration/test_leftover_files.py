"""Issue #17, fault 14: temp files left by a crash (an interrupted export or download in the cache
directory, a blob or archive member being written in the blob store) are collected at start-up and by `gc`
once older than the grace period; younger ones (a write still in progress) are left alone."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from studio.config import Settings
from studio.service import Studio
from tests.conftest import ROOT

HOUR = 3600


def leftover(path: Path, age_s: float, size: int = 1024) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def plant(data_dir: Path, age_s: float, tag: str) -> list[Path]:
    return [leftover(data_dir / "cache" / f".my-project.retake.zip-{tag}.tmp", age_s, 40 * 1024),
            leftover(data_dir / "cache" / f".retake-take-1.wav-{tag}.tmp", age_s),
            leftover(data_dir / "blobs" / "ab" / f".abcdef012345-{tag}.tmp", age_s)]


def test_start_up_collects_old_temp_files_and_keeps_young_ones(tmp_path, models):
    data_dir = tmp_path / "data"
    Studio.open(Settings(data_dir=data_dir), models=models).close()
    old, young = plant(data_dir, 2 * HOUR, "old"), plant(data_dir, 60, "young")
    keep = leftover(data_dir / "cache" / "my-project.retake.zip", 2 * HOUR)  # a finished export stays
    Studio.open(Settings(data_dir=data_dir), models=models).close()
    assert [p for p in old if p.exists()] == []
    assert all(p.exists() for p in young) and keep.exists()


def test_gc_command_collects_temp_files_past_its_grace(tmp_path):
    data_dir = tmp_path / "data"
    young = plant(data_dir, 60, "young")
    env = {**os.environ, "RETAKE_DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-m", "studio", "gc", "--grace", "30"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"removed_files": 3' in result.stdout
    assert [p for p in young if p.exists()] == []
