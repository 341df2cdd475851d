"""The one way an engine reads its weights, so every torch engine loads (and fails to load) alike.

An engine's `from_pretrained` refuses options it does not know (`reject_unknown`), finds its local folder
(`require_folder`), picks where and in what precision to run (`pick_device`, `torch_dtype`) and builds each
part from that folder with `load_model` (weights: moved to the device and put in eval mode) or `load_part`
(processors, tokenizers, feature extractors). Everything is read with `local_files_only=True`: only the model
manager downloads, so an engine never reaches the network behind its back.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .base import EngineError

__all__ = ["UnknownOptionError", "reject_unknown", "require_folder", "pick_device", "pick_dtype", "torch_dtype",
           "load_model", "float32_part", "load_part"]


class UnknownOptionError(TypeError, ValueError):
    """An option the engine does not have. A TypeError, like any unexpected keyword argument, and a
    ValueError, like every other bad setting an engine refuses."""


def reject_unknown(owner: str, options: Mapping[str, Any], allowed: Iterable[str] = ()) -> None:
    """Refuse options outside `allowed`, naming them and what is allowed: a misspelt option silently ignored
    would change nothing and leave the caller guessing why."""
    allowed = tuple(allowed)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = f"; allowed: {', '.join(sorted(allowed))}" if allowed else "; it takes none"
        raise UnknownOptionError(f"Unknown {owner} options: {', '.join(unknown)}{accepted}.")


def require_folder(path: str | Path | None, repo: str, name: str = "model_path",
                   marker: str | None = "config.json") -> Path:
    """The local folder holding a copy of the Hub repo `repo`, given as the `name` argument. `marker`: a file
    every such folder has, checked so a wrong folder is reported as such, not as a loader's stack trace."""
    if path is None:
        raise EngineError(f"{name} is required: the local checkpoint folder of {repo} "
                          "(the model manager downloads it first).")
    folder = Path(path)
    if not folder.is_dir():
        raise EngineError(f"{name} {str(folder)!r} is not a folder; expected a local copy of {repo}.")
    if marker is not None and not (folder / marker).is_file():
        raise EngineError(f"{folder} holds no checkpoint ({marker} missing); expected a local copy of {repo}.")
    return folder


def pick_device(requested: str | None = None) -> str:
    """cuda if present, else Apple's mps, else cpu; an explicit request wins."""
    if requested and requested != "auto":
        return requested
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str | None = None) -> str:
    """float32 on CPU (half precision is slow there); bfloat16 on GPUs that have it, else float16."""
    if requested and requested != "auto":
        return requested
    if device == "cuda":
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise EngineError("This engine needs torch and transformers; run `pip install torch transformers`.") from exc
    return torch


def torch_dtype(device: str, dtype: str | None) -> Any:
    """The torch dtype `pick_dtype` chooses for `device` (or `dtype` when given), refusing names torch lacks."""
    torch = _torch()
    name = pick_dtype(device, dtype)
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"dtype={dtype!r} is not a torch dtype; use float32, float16 or bfloat16.")
    return value


def load_model(model_class: Any, folder: str | Path, *, device: str, dtype: Any,
               keep_float32: Iterable[str] = (), **kwargs: Any) -> Any:
    """`model_class.from_pretrained` on local files only, at `dtype` (a torch dtype), moved to `device` and
    in eval mode (dropout off, except where an engine turns it back on for a reason it documents).

    `keep_float32`: submodules (a codec, a vocoder inside the model) that stay float32 whatever `dtype`: they
    are small, and in half precision they are audibly worse; the reference implementations keep them float32.
    The model is then read in float32 and everything else is cast, so the kept parts never lose precision."""
    torch = _torch()
    keep = tuple(keep_float32)
    if not keep or dtype == torch.float32:
        model = model_class.from_pretrained(folder, local_files_only=True, dtype=dtype, **kwargs)
        return model.to(device).eval()
    model = model_class.from_pretrained(folder, local_files_only=True, dtype=torch.float32, **kwargs)
    for name in keep:
        model.get_submodule(name)  # AttributeError naming the part when a checkpoint lacks it
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_floating_point() and not any(name.startswith(f"{part}.") for part in keep):
            tensor.data = tensor.data.to(dtype)
    return model.to(device).eval()


def float32_part(part_class: Any, folder: str | Path, *, device: str, **kwargs: Any) -> Any:
    """A codec or vocoder loaded on its own, always in float32 (see `load_model`'s `keep_float32`)."""
    return load_model(part_class, folder, device=device, dtype=_torch().float32, **kwargs)


def load_part(part_class: Any, folder: str | Path, **kwargs: Any) -> Any:
    """A weightless part (processor, tokenizer, feature extractor) from local files only."""
    return part_class.from_pretrained(folder, local_files_only=True, **kwargs)
