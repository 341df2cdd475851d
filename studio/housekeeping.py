"""Files nobody will ever use again: blobs no row refers to, and temp files left by a crash or a kill
(blob writes and archive imports in the blob store; exports and downloads in the cache directory). Each is
removed once it is older than a grace period, so a write still in progress in another thread or process is
never touched. Runs at start-up and from `python -m studio gc`."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from storage import Store

from .config import Settings
from .media import TEMP_SUFFIX

GRACE_SECONDS = 3600.0
log = logging.getLogger("retake.housekeeping")


def collect_garbage(store: Store, settings: Settings, grace_seconds: float = GRACE_SECONDS) -> int:
    """Remove unreferenced blobs and stale temp files older than `grace_seconds`; return how many went."""
    return store.collect_garbage(grace_seconds) + stale_temp_files(settings.cache_dir, grace_seconds)


def stale_temp_files(folder: Path, grace_seconds: float) -> int:
    """Delete `*.tmp` files directly in `folder` older than the grace period; return how many."""
    if grace_seconds < 0:
        raise ValueError("grace_seconds must be >= 0")
    cutoff = time.time() - grace_seconds
    removed = 0
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(TEMP_SUFFIX)]
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def at_start_up(store: Store, settings: Settings) -> None:
    """Collect what crashes left behind; a failure here is logged, never a reason not to start."""
    try:
        removed = collect_garbage(store, settings)
    except OSError as exc:
        log.warning("could not remove leftover files: %s", exc)
        return
    if removed:
        log.info("removed %d leftover file(s) older than %.0f s", removed, GRACE_SECONDS)
