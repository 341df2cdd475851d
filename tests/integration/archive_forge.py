"""Hand-made project archives for the import tests and drills: a valid minimal one, a zip bomb, a take whose
"audio" is anything at all. What an attacker could upload, built the way the format describes it."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import audio as au

NOW = "2026-01-01T00:00:00+00:00"


def tone_flac(seconds: float = 1.0, rate: int = 16000, noise: bool = False) -> bytes:
    """A tone (compresses well) or, with `noise`, white noise (hardly compresses: about 32 KB a second)."""
    n = int(seconds * rate)
    if noise:
        samples = 0.3 * np.random.default_rng(n).standard_normal(n)
    else:
        samples = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / rate)
    return au.encode(au.Audio(samples.astype(np.float32), rate), "flac")


def take_entry(sha: str, ref: int = 1, duration: float = 1.0, **fields: Any) -> dict[str, Any]:
    return {"ref": ref, "kind": "recording", "text": "hello", "voice_ref": None, "engine_id": None,
            "engine_revision": None, "parameters": {}, "seed": None, "parent_ref": None, "scores": {},
            "audio_sha": sha, "duration": duration, "sample_rate": 16000, "created_at": NOW, "starred": False,
            **fields}


def voice_entry(sha: str, ref: int = 1, consent: Any = "default", duration: float = 1.0) -> dict[str, Any]:
    if consent == "default":
        consent = {"statement": "I agree.", "confirmed_by": "tester", "confirmed_at": NOW}
    return {"ref": ref, "name": f"Voice {ref}", "language": "en", "created_at": NOW, "consent": consent,
            "clips": [{"position": 1, "audio_sha": sha, "sample_rate": 16000, "duration": duration,
                       "transcript": None, "source_name": None}], "embeddings": []}


def manifest(takes: list[dict[str, Any]], voices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"format": "retake-project", "version": 1, "exported_at": NOW,
            "project": {"name": "Forged", "created_at": NOW}, "voices": voices or [], "takes": takes}


def write_archive(path: Path, man: dict[str, Any], members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(man))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def audio_archive(path: Path, data: bytes, duration: float = 1.0) -> Path:
    """One take whose audio is `data`, filed under its true sha256."""
    sha = hashlib.sha256(data).hexdigest()
    return write_archive(path, manifest([take_entry(sha, duration=duration)]), {f"audio/{sha}": data})


def zip_bomb(path: Path, size: int) -> Path:
    """One take of `size` zero bytes (correct sha256), deflated to about a thousandth of that."""
    digest = hashlib.sha256()
    chunk = bytes(1024 * 1024)
    for _ in range(size // len(chunk)):
        digest.update(chunk)
    sha = digest.hexdigest()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest([take_entry(sha)])))
        with zf.open(f"audio/{sha}", "w", force_zip64=True) as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return path
