"""Entry point for the Hugging Face Space: Space-friendly defaults, then the normal studio."""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("RETAKE_HOST", "0.0.0.0")
os.environ.setdefault("RETAKE_PORT", os.environ.get("PORT", "7860"))
persistent = Path("/data")
default_data = persistent / "retake" if persistent.is_dir() and os.access(persistent, os.W_OK) else \
    Path(tempfile.gettempdir()) / "retake"
os.environ.setdefault("RETAKE_DATA_DIR", str(default_data))
os.environ.setdefault("RETAKE_MAX_AUDIO_SECONDS", "300")

from app import main  # noqa: E402  (environment first, then the app reads it)

if __name__ == "__main__":
    sys.exit(main())
