"""Stopping the child processes tests and benchmarks start (app servers, queue workers): asked first, so
they shut down as a person's Ctrl-C would have them, then killed if they hang."""
from __future__ import annotations

import subprocess
from collections.abc import Iterable


def stop_processes(processes: Iterable[subprocess.Popen], timeout: float = 60.0) -> None:
    """SIGTERM to each still running, then wait up to `timeout` seconds for each before SIGKILL."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
