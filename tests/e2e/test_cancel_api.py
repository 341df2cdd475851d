"""Issue #17, fault 2 through the public API: a long job cancelled with gradio_client's `job.cancel()` stops on
the server within seconds (the server process is back to idle CPU) and stores nothing — a streaming narration
(a generator handler) and enhancing every take of a project (a plain handler, which Gradio alone cannot stop:
its thread ran to the end before `studio.ui.cancellation`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.utils import Status

from tests.conftest import ROOT
from tests.e2e.conftest import RunningApp
from tests.procstat import cpu_share, rss_mb, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IDLE_WITHIN_S = 10.0
LONG_TEXT = " ".join(f"Sentence number {i} is read aloud by the studio for this test." for i in range(300))


HEARTBEAT_S = 2  # how often Gradio probes a client's heartbeat stream: a departure is noticed within this


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("cancel-app")
    saved = os.environ.get("GRADIO_HEARTBEAT_INTERVAL")
    os.environ["GRADIO_HEARTBEAT_INTERVAL"] = str(HEARTBEAT_S)
    try:
        running = RunningApp(base / "data", base / "app.log").start()
    finally:
        if saved is None:
            del os.environ["GRADIO_HEARTBEAT_INTERVAL"]
        else:
            os.environ["GRADIO_HEARTBEAT_INTERVAL"] = saved
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(app):
    return Client(app.url, verbose=False)


def take_count(client, project: int = 1) -> int:
    summary, *_ = client.predict(project, None, False, 1, api_name="/list_takes")
    return int(summary.split()[0])


def originals(client, project: int = 1) -> int:
    """The takes enhance-all would enhance: those not enhanced themselves (labels read "#id kind: text")."""
    takes, _ = client.predict(project, api_name="/edit_takes")
    return sum(1 for label, _ in takes["choices"] if " enhanced:" not in label)


def wait_running(job, outputs: int = 0, timeout: float = 120.0) -> None:
    """Until the server is working on the job (and has sent `outputs` results)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.status().code in (Status.PROCESSING, Status.ITERATING, Status.PROGRESS) and len(job.outputs()) >= outputs:
            return
        if job.done():
            raise AssertionError(f"the job ended before it could be cancelled: {job.status()} {job.result()}")
        time.sleep(0.05)
    raise AssertionError("the job never started")


def assert_idle_soon(app, what: str) -> float:
    idle = wait_idle(app.process.pid, within=IDLE_WITHIN_S + 5)
    assert idle is not None and idle <= IDLE_WITHIN_S, f"{what}: the server still works after the cancel"
    print(f"{what}: idle {idle:.1f} s after the cancel, RSS {rss_mb(app.process.pid):.0f} MB")
    return idle


def test_a_cancelled_narration_stops_and_stores_nothing(app, client):
    before = take_count(client)
    job = client.submit(1, None, LONG_TEXT, "piper-joe-embedded", 1, 1.0, "", False, api_name="/speak")
    wait_running(job, outputs=1)
    job.cancel()
    assert_idle_soon(app, "narration")
    assert take_count(client) == before


def test_a_cancelled_enhance_all_stops_within_the_take_in_progress(app, client, tmp_path):
    rate = 16000
    for i in range(6):  # 15 s each: the denoiser needs a few seconds per take on a CPU
        t = np.arange(15 * rate) / rate
        noisy = 0.3 * np.sin(2 * np.pi * (180 + 20 * i) * t) + 0.02 * np.random.default_rng(i).standard_normal(t.size)
        path = tmp_path / f"take{i}.wav"
        sf.write(path, noisy.astype(np.float32), rate)
        client.predict(1, handle_file(str(path)), f"take {i}", 0, False, 1, api_name="/import_recording")
    before, todo = take_count(client), originals(client)
    assert todo == 6
    job = client.submit(1, "deepfilternet3", "podcast", api_name="/enhance_all")
    wait_running(job)
    # Past the model's loading, into the first takes: only then is there work to stop.
    deadline = time.monotonic() + 120
    while cpu_share(app.process.pid, 0.5) < 0.5 and time.monotonic() < deadline:
        pass
    job.cancel()
    assert_idle_soon(app, "enhance all")
    made = take_count(client) - before
    # The takes finished before the cancel are whole enhanced takes; without the token all 6 would be made.
    assert made < todo, "every take was enhanced: the cancel did not reach the work"


def test_the_server_answers_normally_after_cancels(client):
    assert take_count(client) >= 6
    events = client.predict(1, None, "A short sentence after the cancels.", "piper-joe-embedded", 2, 1.0, "",
                            False, api_name="/speak")
    assert events[-1] and "take" in str(events[-1]).lower()


def client_dies(app, what: str, script: str, ready: str, *args: str, then=lambda: None) -> None:
    """Run `script` as a client process (argv: the app's URL, then `args`), wait for it to print `ready` and for
    `then()`, SIGKILL it as a closed tab, and require the server idle within Gradio's heartbeat plus 10 s."""
    leaver = subprocess.Popen([sys.executable, "-c", script, app.url, *args], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert leaver.stdout is not None and leaver.stdout.readline().startswith(ready)
        then()
    finally:
        leaver.send_signal(signal.SIGKILL)
        leaver.wait()
    idle = wait_idle(app.process.pid, within=IDLE_WITHIN_S + HEARTBEAT_S + 5)
    assert idle is not None and idle <= IDLE_WITHIN_S + HEARTBEAT_S, f"{what}: the server works on"
    print(f"{what}: idle {idle:.1f} s after it died")


LEAVER = """
import sys
from gradio_client import Client
client = Client(sys.argv[1], verbose=False)
job = client.submit(1, "deepfilternet3", "podcast", api_name="/enhance_all")
print("SUBMITTED", flush=True)
job.result()
"""


def test_a_client_that_goes_away_has_its_job_stopped(app, client):
    """No cancel: the client process dies (as a browser tab is closed). Its heartbeat stream breaks, Gradio
    runs `unload`, and that cancels the session's tokens."""
    before, todo = take_count(client), originals(client)

    def busy() -> None:  # past the model's loading, into the takes
        deadline = time.monotonic() + 120
        while cpu_share(app.process.pid, 0.5) < 0.5 and time.monotonic() < deadline:
            pass

    client_dies(app, "client gone", LEAVER, "SUBMITTED", then=busy)
    assert take_count(client) - before < todo, "every take was enhanced: the departure stopped nothing"


SPEAK_LEAVER = """
import sys, time
from gradio_client import Client
client = Client(sys.argv[1], verbose=False)
job = client.submit(1, None, sys.argv[2], "piper-joe-embedded", 4, 1.0, "", False, api_name="/speak")
while len(job.outputs()) < 2:
    time.sleep(0.05)
print("HEARD", flush=True)
job.result()
"""


def test_a_narration_whose_client_went_away_stops_and_keeps_what_was_spoken(app, client):
    """Issue #11 with #17: the listener's process dies after hearing two chunks. The narration stops within
    seconds (the server is idle again) and what was spoken is stored as a shorter take, listed with the rest."""
    _, table, *_ = client.predict(1, 0, False, 1, api_name="/list_takes")
    known = {row[0] for row in table["data"]}
    client_dies(app, "narration's client gone", SPEAK_LEAVER, "HEARD", LONG_TEXT)
    _, table, *_ = client.predict(1, 0, False, 1, api_name="/list_takes")
    kept = [row for row in table["data"] if row[0] not in known and row[2] == "speech"]
    assert len(kept) == 1, "the narration spoken before the client left was not kept"
    assert kept[0][3].startswith("Sentence number 0") and kept[0][5] < 120  # a part: 300 sentences last ~15 min
