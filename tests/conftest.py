"""Shared fixtures. The Hub is never reachable in tests: say so before anything imports huggingface_hub."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SPEECH_DIR = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))
NOISE_DIR = Path(os.environ.get("RETAKE_NOISE_DIR", ROOT.parent / "shared" / "data" / "noise"))


def speech_manifest() -> dict[str, dict[str, str]]:
    """The shared speech clips by id (manifest.csv), so tests can pick clips by what they contain."""
    if not (SPEECH_DIR / "manifest.csv").exists():
        pytest.skip(f"shared speech data not found at {SPEECH_DIR} (set RETAKE_SPEECH_DIR)")
    with open(SPEECH_DIR / "manifest.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def speech_clip(clip_id: str) -> Path:
    """Path of one real recording from the shared test data."""
    path = SPEECH_DIR / speech_manifest()[clip_id]["path"]
    if not path.exists():
        pytest.skip(f"shared speech clip missing: {path}")
    return path


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    if not (SPEECH_DIR / "manifest.csv").exists():
        pytest.skip(f"shared speech data not found at {SPEECH_DIR}")
    return SPEECH_DIR


@pytest.fixture(scope="session")
def noise_dir() -> Path:
    return NOISE_DIR


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """One model manager for every test studio: the real catalog plus the fake speech engine
    (`tests.fakes`), so each engine loads once per test run."""
    from pipelines.manager import ModelManager
    from tests.fakes import FAKE_ENGINE, catalog_with_fake

    weights = tmp_path_factory.mktemp("fake-speak-weights")
    return ModelManager(catalog_with_fake(), local_paths={FAKE_ENGINE: weights})


@pytest.fixture(scope="module")
def studio(tmp_path_factory, models):
    """A studio over a fresh data directory for each test module, sharing the session's engines."""
    from studio.config import Settings
    from studio.service import Studio

    data_dir = tmp_path_factory.mktemp("studio") / "data"
    s = Studio.open(Settings(data_dir=data_dir, max_audio_seconds=60), models=models)
    yield s
    s.close()
