"""Builders of tiny randomly initialised models, one module per model family.

Each module exposes BUILDERS (catalog engine id -> function(folder) -> folder with the saved model) and
optionally COMPONENTS (engine id -> {from_pretrained keyword -> builder}) for extra repos such as vocoders.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Callable

Builder = Callable[[Path], Path]


def all_builders() -> tuple[dict[str, Builder], dict[str, dict[str, Builder]]]:
    builders: dict[str, Builder] = {}
    components: dict[str, dict[str, Builder]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        builders.update(getattr(module, "BUILDERS", {}))
        components.update(getattr(module, "COMPONENTS", {}))
    return builders, components
