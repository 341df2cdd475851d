"""The model manager through its real code paths: local folders, the Hugging Face cache, the (unreachable)
Hub, the memory budget and concurrent first use."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from pipelines.catalog import Catalog, Engine
from pipelines.manager import EngineUnavailable, ModelManager
from tests.conftest import ROOT
from tests.tiny import toy
from tests.tiny.hub_cache import install_in_hub_cache


def toy_engine(engine_id: str, repo: str | None = None, memory_mb: float = 1.0) -> Engine:
    return Engine(id=engine_id, task="enhance", name=f"Toy {engine_id}", pipeline="tests.tiny.toy:TinyGain",
                  licence="MIT", languages=("*",), sample_rate=16000, download_mb=1, memory_mb=memory_mb,
                  hub_repo=repo or f"retake-test/{engine_id}", revision="main")


@pytest.fixture
def hub_cache(tmp_path):
    return tmp_path / "hub"


def cached_toys(tmp_path, hub_cache, names, megabytes=1.0, hold=False) -> Catalog:
    engines = []
    for name in names:
        engine = toy_engine(name)
        folder = toy.build(tmp_path / "built" / name, name, megabytes=megabytes, hold=hold)
        install_in_hub_cache(hub_cache, engine.hub_repo, engine.revision, folder)
        engines.append(engine)
    return Catalog(engines)


def test_cache_hit_loads_through_the_hub_cache(tmp_path, hub_cache):
    catalog = cached_toys(tmp_path, hub_cache, ["a"])
    manager = ModelManager(catalog, cache_dir=hub_cache)
    assert [s.state for s in manager.status()] == ["cached"]
    pipeline = manager.get("a")
    assert pipeline(toy.samples()).samples[0] == pytest.approx(0.1)
    assert manager.get("a") is pipeline  # second use: no reload
    status = manager.status()[0]
    assert status.state == "loaded" and status.memory_mb == pytest.approx(1.0, rel=0.01)


def test_cache_miss_offline_names_engine_cache_and_offline_alternatives(tmp_path, hub_cache, monkeypatch):
    catalog = cached_toys(tmp_path, hub_cache, ["present"])
    catalog = Catalog([*catalog, toy_engine("absent"), *Catalog.load().for_task("enhance")])
    manager = ModelManager(catalog, cache_dir=hub_cache)
    dialled = []  # answering at once means not waiting on the network: no connection is even tried

    def no_network(sock, address):
        dialled.append(address)
        raise OSError("network unreachable")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(EngineUnavailable) as caught:
        manager.get("absent")
    message = str(caught.value)
    assert dialled == []
    assert "Toy absent is not downloaded" in message and "HF_HUB_OFFLINE" in message
    assert "Cached Hub engines: Toy present" in message
    assert "DeepFilterNet3" in message and "RNNoise" in message


def test_local_folder_wins_and_a_missing_one_is_named(tmp_path, hub_cache):
    folder = toy.build(tmp_path / "mine", "mine")
    catalog = Catalog([toy_engine("mine"), toy_engine("gone")])
    manager = ModelManager(catalog, cache_dir=hub_cache,
                           local_paths={"mine": folder, "gone": tmp_path / "nowhere"})
    assert manager.get("mine").sample_rate == 16000
    with pytest.raises(EngineUnavailable, match="nowhere"):
        manager.get("gone")


def test_least_recently_used_engine_is_unloaded_past_the_budget(tmp_path, hub_cache):
    catalog = cached_toys(tmp_path, hub_cache, ["a", "b", "c"], megabytes=4)
    manager = ModelManager(catalog, cache_dir=hub_cache, memory_budget_mb=9)
    manager.get("a")
    manager.get("b")
    manager.get("a")  # a is now the most recently used
    manager.get("c")  # 12 MB > 9 MB: b goes
    assert manager.loaded_ids() == ["a", "c"]
    assert {s.engine.id: s.state for s in manager.status()} == {"a": "loaded", "b": "cached", "c": "loaded"}
    assert manager.unload("a") and not manager.unload("a")
    assert manager.loaded_ids() == ["c"]


def test_an_engine_bigger_than_the_budget_still_loads_alone(tmp_path, hub_cache):
    catalog = cached_toys(tmp_path, hub_cache, ["small", "huge"], megabytes=3)
    manager = ModelManager(catalog, cache_dir=hub_cache, memory_budget_mb=2)
    manager.get("small")
    manager.get("huge")
    assert manager.loaded_ids() == ["huge"]


def test_concurrent_first_use_loads_once(tmp_path, hub_cache):
    """Five callers arrive while the first one's load is held open: none starts a second load."""
    catalog = cached_toys(tmp_path, hub_cache, ["shared"], hold=True)
    manager = ModelManager(catalog, cache_dir=hub_cache)
    toy.LOADS.pop("shared", None)
    toy.LOADING.clear()
    toy.RELEASE.clear()
    results = []
    first = threading.Thread(target=lambda: results.append(manager.get("shared")))
    first.start()
    assert toy.LOADING.wait(timeout=60)  # the first load is under way and cannot finish yet
    others = [threading.Thread(target=lambda: results.append(manager.get("shared"))) for _ in range(5)]
    for t in others:
        t.start()
    toy.RELEASE.set()
    for t in [first, *others]:
        t.join()
    assert toy.LOADS["shared"] == 1
    assert len(results) == 6 and all(r is results[0] for r in results)


def test_unknown_engine_id_lists_the_known_ones():
    manager = ModelManager(Catalog.load())
    with pytest.raises(ValueError, match="unknown engine 'nope'.*deepfilternet3"):
        manager.get("nope")


def test_device_and_dtype_default_to_cpu_float32_and_can_be_overridden():
    assert (ModelManager(Catalog([])).device, ModelManager(Catalog([])).dtype) == ("cpu", "float32")
    manager = ModelManager(Catalog([]), device="cuda", dtype="float16")
    assert (manager.device, manager.dtype) == ("cuda", "float16")


def test_unreachable_hub_fails_fast_with_the_offline_message(tmp_path):
    """With HF_HUB_OFFLINE unset, a Hub that refuses connections gives the same clear message quickly."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pipelines.catalog import Catalog
        from pipelines.manager import ModelManager, EngineUnavailable
        manager = ModelManager(Catalog.load(), cache_dir={str(tmp_path / 'hub')!r})
        started = time.monotonic()
        try:
            manager.get("whisper-small")
        except EngineUnavailable as error:
            print(round(time.monotonic() - started, 2)); print(error)
    """)
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert len(lines) >= 2, out.stderr[-2000:]
    assert float(lines[0]) < 30
    assert "Whisper small is not downloaded and the Hub could not be reached" in lines[1]
    assert "Whisper base (offline)" in lines[1]


def test_get_as_gives_the_task_class_or_names_the_mismatch(tmp_path, hub_cache):
    from pipelines.enhance import EnhancePipeline
    from pipelines.speak import SpeakPipeline

    manager = ModelManager(cached_toys(tmp_path, hub_cache, ["gain"]), cache_dir=hub_cache)
    assert isinstance(manager.get_as("gain", EnhancePipeline), EnhancePipeline)
    with pytest.raises(ValueError, match="Toy gain is an engine for enhance, not for speak"):
        manager.get_as("gain", SpeakPipeline)
