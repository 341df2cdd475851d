"""Which files of a Hub repo to download: what the loaders read, and one copy of the weights.

Hub repos often carry the same weights several times (PyTorch `.bin`, safetensors, TensorFlow, Flax, ONNX)
or a second framework's checkpoint beside the transformers one (sesame/csm-1b's `ckpt.pt`, MusicGen's
audiocraft state dicts). Downloading a whole repo can cost several times the model's size, so the manager
asks for safetensors when the repo has them, `.bin` only when it has none, plus the small files a
`from_pretrained` reads (configs, tokenizers, templates). An engine whose loader reads something else names
its files in the catalog (`files`), and those patterns are used instead.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

__all__ = ["files_to_download", "SETTINGS_SUFFIXES"]

# Small files transformers/diffusers loaders read: configs, tokenizers, chat templates, vocabularies.
SETTINGS_SUFFIXES = (".json", ".txt", ".model", ".jinja", ".tiktoken", ".yaml", ".yml", ".spm", ".bpe")
# Folders of other runtimes' exports that a transformers loader never reads.
OTHER_RUNTIMES = ("onnx/", "coreml/", "openvino/", "tflite/", "original/", "flax/", "tf/")
# Half-precision duplicates of the same weights (diffusers "variants").
VARIANT = re.compile(r"\.(fp16|bf16)[.-]")


def files_to_download(repo_files: Iterable[str], patterns: Iterable[str] = ()) -> list[str]:
    """The files of `repo_files` (a repo's listing) to fetch, sorted. `patterns`: the catalog's own list
    (fnmatch patterns); when given, exactly the files matching them."""
    files = sorted(set(repo_files))
    chosen = tuple(patterns)
    if chosen:
        return [f for f in files if any(fnmatch.fnmatch(f, p) for p in chosen)]
    usable = [f for f in files if not f.startswith(OTHER_RUNTIMES) and not f.split("/")[-1].startswith(".")]
    settings = [f for f in usable if f.endswith(SETTINGS_SUFFIXES)]
    return sorted(set(settings) | set(_weights(usable)))


def _weights(files: list[str]) -> list[str]:
    """Safetensors (full precision where both are there); else the `.bin` files; with their shard indexes."""
    for suffix in (".safetensors", ".bin"):
        found = [f for f in files if f.endswith(suffix)]
        full = [f for f in found if not VARIANT.search(f)]
        if found:
            return full or found
    return []
