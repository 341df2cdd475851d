"""Content-addressed blob store for encoded audio.

A blob's name is the sha256 of its bytes, so writes are idempotent, the same audio kept twice
costs nothing, and any corruption is detectable. Files live in two-character shard directories
(`blobs/ab/abcdef...`) so no directory grows to hundreds of thousands of entries."""
from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO

from .errors import NotFoundError, QuotaExceeded, StorageFullError

_SHA_RE = re.compile(r"[0-9a-f]{64}")
TEMP_SUFFIX = ".tmp"


def is_sha(value: str) -> bool:
    return bool(_SHA_RE.fullmatch(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` survive a power cut (POSIX; a no-op elsewhere)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class BlobStore:
    """Immutable files named by their sha256 under one root directory."""

    def __init__(self, root: str | os.PathLike[str], *, limit_bytes: int | None = None) -> None:
        """`limit_bytes`: what all blobs together may take (a user's storage quota); None: no limit."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limit_bytes = limit_bytes

    def used_bytes(self) -> int:
        """Bytes the stored blobs take (temp files excluded)."""
        return sum(entry.stat().st_size for entry, name in self._entries() if is_sha(name))

    def _check_room(self, size: int) -> None:
        if self.limit_bytes is None:
            return
        used = self.used_bytes()
        if used + size > self.limit_bytes:
            mb = 1024 * 1024
            raise QuotaExceeded(f"Your storage is full ({used / mb:,.1f} MB of {self.limit_bytes / mb:,.0f} MB): "
                                f"nothing was saved. Delete takes or projects you no longer need, then try again.")

    def path_for(self, sha: str) -> Path:
        """Where the blob `sha` lives (whether or not it exists). ValueError for a malformed name,
        so a crafted name can never point outside the store."""
        if not is_sha(sha):
            raise ValueError(f"not a sha256 hex digest: {sha!r}")
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path_for(sha).is_file()

    def __contains__(self, sha: object) -> bool:
        return isinstance(sha, str) and is_sha(sha) and self.exists(sha)

    def put(self, data: bytes) -> str:
        """Store `data` durably and return its sha256.

        Written to a temp file in the target directory, fsynced, renamed into place, then the
        directory is fsynced: readers see the whole blob or none of it, even after a crash."""
        sha = sha256_hex(data)
        final = self.path_for(sha)
        try:
            # Already there: refresh mtime so a concurrent collect_garbage gives the row that
            # is about to reference it a full grace period.
            os.utime(final)
            return sha
        except FileNotFoundError:
            pass
        self._check_room(len(data))
        shard = final.parent
        if not shard.is_dir():
            shard.mkdir(parents=True, exist_ok=True)
            _fsync_dir(self.root)
        fd, tmp_name = tempfile.mkstemp(dir=shard, prefix=f".{sha[:12]}-", suffix=TEMP_SUFFIX)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise StorageFullError() from exc
            raise
        _fsync_dir(shard)
        return sha

    def stage(self, source: IO[bytes], sha: str, max_bytes: int, chunk: int = 1024 * 1024) -> tuple[Path, str, int]:
        """Stream `source` into a temp file beside where blob `sha` would live; return (temp path, sha256 of
        what was read, bytes read). Nothing is kept in memory beyond one chunk. Reading stops with
        ValueError as soon as more than `max_bytes` arrive (the temp file is removed). The caller checks the
        file, then `adopt`s it or unlinks it; a crash leaves a temp file that collect_garbage removes."""
        shard = self.path_for(sha).parent
        shard.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=shard, prefix=f".{sha[:12]}-", suffix=TEMP_SUFFIX)
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                while data := source.read(chunk):
                    size += len(data)
                    if size > max_bytes:
                        raise ValueError(f"more than {max_bytes} bytes")
                    digest.update(data)
                    f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise StorageFullError() from exc
            raise
        return tmp, digest.hexdigest(), size

    def adopt(self, tmp: Path, sha: str) -> None:
        """Move a staged temp file (see `stage`), whose bytes hash to `sha`, into place as that blob."""
        final = self.path_for(sha)
        try:
            self._check_room(tmp.stat().st_size)
        except QuotaExceeded:
            tmp.unlink(missing_ok=True)
            raise
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def read(self, sha: str) -> bytes:
        try:
            return self.path_for(sha).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"audio {sha} not found") from None

    def path(self, sha: str) -> Path:
        """Path of an existing blob (for handing a file to a player); NotFoundError if missing."""
        path = self.path_for(sha)
        if not path.is_file():
            raise NotFoundError(f"audio {sha} not found")
        return path

    def iter_shas(self) -> Iterator[str]:
        """Every stored blob (temp files excluded)."""
        for _entry, name in self._entries():
            if is_sha(name):
                yield name

    def collect_garbage(self, referenced: Collection[str], grace_seconds: float = 3600.0) -> int:
        """Delete blobs not in `referenced` and leftover temp files, if older than the grace
        period; return how many files went.

        The grace period covers a writer that has stored a blob but not yet committed the row
        naming it (blobs are written before rows), and a temp file still being written."""
        if grace_seconds < 0:
            raise ValueError("grace_seconds must be >= 0")
        cutoff = time.time() - grace_seconds
        keep = set(referenced)
        removed = 0
        for entry, name in self._entries():
            if name.endswith(TEMP_SUFFIX):
                doomed = True
            elif is_sha(name):
                doomed = name not in keep
            else:
                continue  # not ours; leave it alone
            if not doomed:
                continue
            try:
                if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def _entries(self) -> Iterator[tuple[os.DirEntry[str], str]]:
        """(entry, name) for each file in each shard directory."""
        with os.scandir(self.root) as shards:
            shard_dirs = [s.path for s in shards if len(s.name) == 2 and s.is_dir()]
        for shard in shard_dirs:
            with os.scandir(shard) as it:
                entries = [e for e in it if e.is_file(follow_symlinks=False)]
            for entry in entries:  # listed first: callers may delete while iterating
                yield entry, entry.name
