"""The Space repository spaces/assemble.py builds starts as the Space runs it (`python app.py` at its top, the
port from $PORT) and serves the studio: its page and its API, with the data where RETAKE_DATA_DIR says."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

import tests.e2e.conftest as e2e
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_the_assembled_space_starts_and_serves_the_studio(tmp_path, monkeypatch):
    space = tmp_path / "space"
    made = subprocess.run([sys.executable, str(ROOT / "spaces" / "assemble.py"), str(space)], capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    app = e2e.RunningApp(tmp_path / "data", tmp_path / "space.log")
    monkeypatch.setenv("PORT", str(app.port))  # as the Space sets it (RunningApp sets RETAKE_PORT to it too)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    monkeypatch.setattr(e2e, "ROOT", space)  # RunningApp runs `python app.py` there
    try:
        app.start(timeout=120)
        with urllib.request.urlopen(f"{app.url}gradio_api/info", timeout=30) as response:
            info = json.load(response)
        log = app.log_path.read_text(errors="replace")
    finally:
        app.stop()
    assert {"/speak", "/edit_takes", "/enhance"} <= set(info["named_endpoints"]), sorted(info["named_endpoints"])
    assert str(app.data_dir) in log  # "data in ..." from the studio that the Space's entry started
    assert any(app.data_dir.iterdir())  # the studio's database and files went there
