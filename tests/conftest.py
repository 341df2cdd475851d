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

# The real recordings the tests use are not in the repository: they lie beside the checkout (../shared/data),
# or wherever RETAKE_SPEECH_DIR / RETAKE_NOISE_DIR point. Without them, the tests that need them are skipped
# with the one reason below; nothing here may skip at import time, so collection never fails for lack of data.
SPEECH_DIR = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))
NOISE_DIR = Path(os.environ.get("RETAKE_NOISE_DIR", ROOT.parent / "shared" / "data" / "noise"))
HAVE_SPEECH = (SPEECH_DIR / "manifest.csv").is_file()
HAVE_NOISE = any((NOISE_DIR / "wav").glob("*.wav"))
NO_SPEECH = (f"shared speech data not found at {SPEECH_DIR}; set RETAKE_SPEECH_DIR "
             "(README: Test data)")
NO_NOISE = (f"shared noise data not found at {NOISE_DIR}; set RETAKE_NOISE_DIR "
            "(README: Test data)")


def require_speech() -> None:
    """Skip the running test when the shared speech data is absent (call inside a test or fixture only)."""
    if not HAVE_SPEECH:
        pytest.skip(NO_SPEECH)


def require_noise() -> None:
    """Skip the running test when the shared noise data (or the speech it is mixed with) is absent."""
    require_speech()
    if not HAVE_NOISE:
        pytest.skip(NO_NOISE)


def speech_manifest() -> dict[str, dict[str, str]]:
    """The shared speech clips by id (manifest.csv), so tests can pick clips by what they contain.

    Call it inside a test or fixture: without the data it skips the running test. At import time or in a
    parametrize list, use HAVE_SPEECH / `needs_speech` instead."""
    require_speech()
    with open(SPEECH_DIR / "manifest.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def speech_clip(clip_id: str) -> Path:
    """Path of one real recording from the shared test data (inside a test or fixture only, as above)."""
    path = SPEECH_DIR / speech_manifest()[clip_id]["path"]
    if not path.exists():
        pytest.skip(f"shared speech clip missing: {path}")
    return path


# Skip reason for tests of the embedded TTS engines (Piper, Kokoro), absent from a GPL-free core install.
NO_TTS = "embedded TTS engine not installed (a GPL-free core install): pip install -r requirements.txt"

# For a whole test or module (`pytestmark = needs_speech`): skipped before it runs, with the same reason.
needs_speech = pytest.mark.skipif(not HAVE_SPEECH, reason=NO_SPEECH)


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    require_speech()
    return SPEECH_DIR


@pytest.fixture(scope="session")
def noise_dir() -> Path:
    require_noise()
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


@pytest.fixture
def engine(studio):
    """The studio's loaded fake speech engine (`tests.fakes.FakeSpeak`), its record of calls cleared."""
    from tests.fakes import FAKE_ENGINE, FakeSpeak

    pipeline = studio.models.get(FAKE_ENGINE)
    assert isinstance(pipeline, FakeSpeak)
    pipeline.calls.clear()
    return pipeline
