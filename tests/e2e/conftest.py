"""Run the real app (`python app.py`) in a subprocess on a free port, as a user would start it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import stop_processes

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    """One `python app.py` process over a data directory; can be stopped and started again."""

    def __init__(self, data_dir: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 90.0) -> "RunningApp":
        env = {**os.environ, "RETAKE_DATA_DIR": str(self.data_dir), "RETAKE_PORT": str(self.port),
               "RETAKE_HOST": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
               **self.env}
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"app did not answer within {timeout} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process:
            stop_processes([self.process], timeout=20)
        self.process = None


@pytest.fixture
def app_factory(tmp_path_factory):
    apps: list[RunningApp] = []

    def make(data_dir: Path | None = None, env: dict[str, str] | None = None) -> RunningApp:
        base = tmp_path_factory.mktemp("app")
        app = RunningApp(data_dir or base / "data", base / "app.log", env)
        apps.append(app)
        return app.start()

    yield make
    for app in apps:
        app.stop()


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("shared-app")
    app = RunningApp(base / "data", base / "app.log").start()
    yield app
    app.stop()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def save_screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


# Words of a table drawn over more than one line (a word broken mid-word); hyphens, slashes and spaces are
# places a line may break, so the parts between them are the words.
BROKEN_WORDS_JS = """(root) => {
  const broken = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/[^\\s\\-\\/_,;·]+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}"""


def table_problems(table) -> dict:
    """What makes a table hard to read: words broken across lines, and columns cut off (sideways scroll)."""
    wide = table.locator("table").first.evaluate("t => t.parentElement.scrollWidth - t.parentElement.clientWidth")
    return {"broken": table.evaluate(BROKEN_WORDS_JS), "cut_off_px": max(0, int(wide))}
