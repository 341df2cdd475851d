"""CPU and memory of another process, for the drills that check a server is idle again: psutil when it is
installed, else Linux's /proc."""
from __future__ import annotations

import os
import time

try:
    import psutil
except ImportError:  # pragma: no cover - depends on the install
    psutil = None

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far, its threads included."""
    if psutil is not None:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def rss_mb(pid: int) -> float:
    """Resident memory in MiB."""
    if psutil is not None:
        return psutil.Process(pid).memory_info().rss / 2**20
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_share(pid: int, seconds: float = 1.0) -> float:
    """The share of one core the process used over the next `seconds` (1.0: one core busy)."""
    start, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start) / (time.monotonic() - t0)


def wait_idle(pid: int, *, within: float, threshold: float = 0.1, window: float = 1.0) -> float | None:
    """Seconds until the process used under `threshold` of a core over a `window`, or None if it did not
    within `within` seconds (measured from the call)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        if cpu_share(pid, window) < threshold:
            return time.monotonic() - t0
    return None
