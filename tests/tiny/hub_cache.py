"""Put a locally built model folder into a Hugging Face cache layout, as a real download would leave it,
so the manager's cache path (snapshot_download with local_files_only) is exercised without a network."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def install_in_hub_cache(cache_dir: Path, repo: str, revision: str, folder: Path) -> Path:
    """Returns the snapshot folder. The commit hash is derived from the repo name (any 40 hex digits do)."""
    commit = hashlib.sha1(f"{repo}@{revision}".encode()).hexdigest()
    repo_dir = Path(cache_dir) / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(folder, snapshot)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / revision).write_text(commit)
    return snapshot
