"""Unused imports, undefined names and similar slips fail the suite (ruff's pyflakes rules)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def test_no_pyflakes_errors():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (requirements-dev.txt has it)")
    result = subprocess.run([ruff, "check", "--select", "F", "--output-format", "concise", "app.py", "pipelines",
                             "storage", "studio", "bench", "tests", "spaces"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_check():
    """pipelines/, storage/ and studio/ type-check (pyproject.toml's [tool.mypy]; the Gradio layout is left out)."""
    pytest.importorskip("mypy", reason="mypy is not installed (requirements-dev.txt has it)")
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", "/dev/null"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
