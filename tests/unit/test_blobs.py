"""BlobStore: content addressing, crash-safe writes and garbage collection on a real directory."""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from storage.blobs import BlobStore
from storage.errors import NotFoundError

HOUR = 3600.0


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def backdate(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def test_put_names_blob_by_sha256_in_a_shard_dir(blobs: BlobStore) -> None:
    data = os.urandom(4096)
    sha = blobs.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    path = blobs.path(sha)
    assert path == blobs.root / sha[:2] / sha
    assert path.read_bytes() == data
    assert blobs.read(sha) == data
    assert sha in blobs and blobs.exists(sha)


def test_put_is_idempotent(blobs: BlobStore) -> None:
    data = b"same bytes" * 100
    first = blobs.put(data)
    second = blobs.put(data)
    assert first == second
    assert all_files(blobs.root) == [blobs.path(first)]
    assert list(blobs.iter_shas()) == [first]


def test_many_blobs_spread_over_shards(blobs: BlobStore) -> None:
    shas = {blobs.put(os.urandom(64)) for _ in range(200)}
    shards = {p.name for p in blobs.root.iterdir() if p.is_dir()}
    assert len(shards) > 50  # 200 random hashes land in far more than a handful of dirs
    assert all(len(s) == 2 for s in shards)
    assert set(blobs.iter_shas()) == shas


def test_no_temp_files_left_after_put(blobs: BlobStore) -> None:
    for i in range(20):
        blobs.put(os.urandom(1000 + i))
    names = [p.name for p in all_files(blobs.root)]
    assert len(names) == 20
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]


def test_failed_write_leaves_no_temp_file(blobs: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        blobs.put(b"never lands")
    assert all_files(blobs.root) == []


def test_concurrent_puts_of_same_bytes_make_one_file(blobs: BlobStore) -> None:
    data = os.urandom(50_000)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(blobs.put(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert all_files(blobs.root) == [blobs.path(results[0])]
    assert blobs.read(results[0]) == data


def test_missing_blob_is_not_found(blobs: BlobStore) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(NotFoundError):
        blobs.read(sha)
    with pytest.raises(NotFoundError):
        blobs.path(sha)
    assert sha not in blobs


def test_malformed_names_are_refused(blobs: BlobStore) -> None:
    for bad in ["../../etc/passwd", "ab", "A" * 64, "g" * 64, ""]:
        with pytest.raises(ValueError):
            blobs.path_for(bad)
        assert bad not in blobs


def test_gc_removes_only_unreferenced(blobs: BlobStore) -> None:
    keep = [blobs.put(os.urandom(100)) for _ in range(3)]
    drop = [blobs.put(os.urandom(100)) for _ in range(4)]
    for sha in keep + drop:
        backdate(blobs.path(sha), 2 * HOUR)
    assert blobs.collect_garbage(set(keep), grace_seconds=HOUR) == 4
    assert set(blobs.iter_shas()) == set(keep)
    for sha in keep:
        assert blobs.read(sha)
    assert blobs.collect_garbage(set(keep), grace_seconds=HOUR) == 0


def test_gc_respects_grace_period(blobs: BlobStore) -> None:
    fresh = blobs.put(b"just written, row not committed yet")
    old = blobs.put(b"orphaned long ago")
    backdate(blobs.path(old), 2 * HOUR)
    assert blobs.collect_garbage(set(), grace_seconds=HOUR) == 1
    assert fresh in blobs and old not in blobs
    assert blobs.collect_garbage(set(), grace_seconds=0) == 1
    assert fresh not in blobs


def test_put_of_existing_blob_restarts_its_grace_period(blobs: BlobStore) -> None:
    data = b"orphan that is about to be referenced again"
    sha = blobs.put(data)
    backdate(blobs.path(sha), 2 * HOUR)
    blobs.put(data)  # a new row is about to point at it
    assert blobs.collect_garbage(set(), grace_seconds=HOUR) == 0
    assert sha in blobs


def test_gc_removes_stale_temp_files_and_ignores_foreign_files(blobs: BlobStore) -> None:
    sha = blobs.put(b"kept")
    shard = blobs.path(sha).parent
    stale = shard / ".deadbeef-abc.tmp"
    fresh = shard / ".deadbeef-def.tmp"
    foreign = shard / "notes.txt"
    for p in (stale, fresh, foreign):
        p.write_bytes(b"partial")
    backdate(stale, 2 * HOUR)
    backdate(foreign, 2 * HOUR)
    assert blobs.collect_garbage({sha}, grace_seconds=HOUR) == 1
    assert not stale.exists()
    assert fresh.exists() and foreign.exists() and sha in blobs


def test_negative_grace_is_refused(blobs: BlobStore) -> None:
    with pytest.raises(ValueError):
        blobs.collect_garbage(set(), grace_seconds=-1)
