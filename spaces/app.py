"""Entry point of the Hugging Face Space: Space-friendly defaults, then the normal studio (`app.main()`).

Runs from the project (`python spaces/app.py`) and as the app.py of the Space repository that
spaces/assemble.py builds, where the project's own app.py is renamed retake_app.py.
"""
import importlib
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE if (HERE / "studio").is_dir() else HERE.parent  # the assembled Space, or this project
sys.path.insert(0, str(ROOT))

if os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true"):
    import spaces  # noqa: F401  (ZeroGPU: before anything imports torch, so spaces can patch it)

os.environ.setdefault("RETAKE_HOST", "0.0.0.0")
os.environ.setdefault("RETAKE_PORT", os.environ.get("PORT", "7860"))
persistent = Path("/data")  # a Space's persistent storage, when it has some
default_data = persistent / "retake" if persistent.is_dir() and os.access(persistent, os.W_OK) else \
    Path(tempfile.gettempdir()) / "retake"
os.environ.setdefault("RETAKE_DATA_DIR", str(default_data))
os.environ.setdefault("RETAKE_MAX_AUDIO_SECONDS", "300")

LAUNCHER = "retake_app" if (ROOT / "retake_app.py").is_file() else "app"
main = importlib.import_module(LAUNCHER).main  # environment first, then the app reads it

if __name__ == "__main__":
    sys.exit(main())
