"""Issue #17, fault 6: many clients downloading one take at once each get a whole file (temp names are unique)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipelines import audio as au

CLIENTS, TIMES = 20, 5


def test_twenty_clients_download_one_take_five_times_each(studio):
    project = studio.projects.list()[0].id
    rate = 16000
    samples = (0.2 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate)).astype(np.float32)
    take = studio.takes.import_recording(project, (rate, samples))

    def client(_: int) -> list[str]:
        errors = []
        for _ in range(TIMES):
            try:
                path = studio.takes.file(take.id, "wav", project_id=project)
                assert abs(au.load(path.read_bytes()).duration - 1.0) < 0.01
            except Exception as exc:  # every failure is counted, not only the first
                errors.append(f"{type(exc).__name__}: {exc}")
        return errors

    with ThreadPoolExecutor(CLIENTS) as pool:
        errors = [e for result in pool.map(client, range(CLIENTS)) for e in result]
    assert not errors, f"{len(errors)} of {CLIENTS * TIMES} downloads failed, e.g. {errors[0]}"
    assert not list(studio.settings.cache_dir.glob("*.tmp")), "temp files were left in the cache"
