"""Every Hub engine of the catalog on each torch device this machine has: built from a tiny random checkpoint,
placed in a Hugging Face cache and loaded through the model manager, so the device and dtype are the ones the
real code picks (`pick_device` / `pick_dtype`: cuda and bfloat16 on a recent GPU, float32 on the CPU).

The "cuda" cases skip where torch sees no GPU; the "cpu" cases run the same code everywhere, so the checks
themselves are exercised on machines without one. Nothing here needs the shared speech recordings: voices and
inputs are synthesised, so the module runs on a machine that has only the repository.
"""
from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.audio import Audio
from pipelines.base import Transcript, VoicePrompt
from pipelines.catalog import Catalog, Engine
from pipelines.manager import ModelManager
from tests.tiny import all_builders
from tests.tiny.hub_cache import install_in_hub_cache

CATALOG = Catalog.load()
HUB = [e for e in CATALOG if not e.embedded]
XVECTOR = "wavlm-base-plus-sv"  # the speaker-embedding key SpeechT5 reads from a VoicePrompt
SEEDED = ("speak", "convert", "sound")  # tasks whose calls take a seed (their output is sampled)
CUDA = torch.cuda.is_available()
# CUDA memory an unloaded engine may leave behind: allocator rounding, not weights (the smallest tiny engine holds
# about 64 KiB in bfloat16, so any engine left whole is over it).
LEAK_SLACK_BYTES = 32 * 1024

# The CPU cases take a few seconds each with every engine built: slow on the 2-core CI machines.
DEVICES = [
    pytest.param("cpu", marks=pytest.mark.slow, id="cpu"),
    pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="torch sees no CUDA device"), id="cuda"),
]

# Random tiny decoders give degenerate cross-attention, so torch warns inside transformers' DTW.
pytestmark = pytest.mark.filterwarnings("ignore:std\\(\\)")


# ------------------------------------------------------------------------------------------------ inputs


def _speechlike(seconds: float, rate: int, seed: int = 0) -> Audio:
    """A voiced buzz (140 Hz and harmonics) in 4 Hz syllables plus a little noise: loud enough that
    trim_silence keeps it, varied enough for codecs and encoders to see something."""
    t = np.arange(int(seconds * rate)) / rate
    buzz = sum(np.sin(2 * np.pi * 140.0 * k * t) / k for k in range(1, 6))
    envelope = 0.55 - 0.45 * np.cos(2 * np.pi * 4.0 * t)
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return Audio((0.2 * buzz / np.abs(buzz).max() * envelope + 0.01 * noise).astype(np.float32), rate)


def _voice() -> VoicePrompt:
    """Clips with a transcript (Pocket TTS, CSM) and a stored x-vector (SpeechT5), so every speak and convert
    engine finds what it needs."""
    xvector = np.random.default_rng(0).normal(size=512).astype(np.float32)
    return VoicePrompt(clips=(_speechlike(1.5, 24000),), transcripts=("Hello there.",),
                       embeddings={XVECTOR: xvector})


def _run(engine: Engine, pipeline, seed: int):
    """One call of the engine's task with small inputs; returns its output."""
    if engine.task == "speak":
        options = {"max_seconds": 0.5} if engine.id in ("csm-1b", "dia-1.6b", "vibevoice-1.5b") else {}
        return pipeline("Hi there.", voice=_voice(), seed=seed, **options)
    if engine.task == "convert":
        return pipeline(_speechlike(0.6, 16000, seed=1), voice=_voice(), seed=seed)
    if engine.task == "sound":
        return pipeline("calm piano rain", seconds=0.5, seed=seed)
    if engine.task == "transcribe":
        # Random weights "hear" words in anything; with a VAD installed (faster-whisper) silence-skipping would
        # decide instead, and without one it would not: turn it off so every machine decodes the same way.
        pipeline.skip_silent = pipeline.snap_words = False
        pipeline.max_new_tokens = 12
        return pipeline(_speechlike(2.0, 16000, seed=2))
    if engine.task == "speaker":
        return pipeline(_speechlike(2.0, 16000, seed=3))
    if engine.task == "rank":
        return pipeline("calm piano rain", [_speechlike(1.0, 48000, seed=4), _speechlike(0.5, 16000, seed=5)])
    raise AssertionError(f"no test input for task {engine.task!r}")


def _check_output(engine: Engine, pipeline, output) -> None:
    if engine.task in SEEDED:
        assert isinstance(output, Audio)
        assert output.sample_rate == engine.sample_rate == pipeline.sample_rate
        assert output.samples.dtype == np.float32 and output.samples.ndim == 1 and output.num_samples > 0
        assert np.all(np.isfinite(output.samples))
    elif engine.task == "transcribe":
        assert isinstance(output, Transcript) and isinstance(output.text, str)
        assert pipeline.sample_rate == engine.sample_rate
        for word in output.words:
            assert np.isfinite([word.start, word.end, word.confidence]).all(), word
            assert 0.0 <= word.start <= word.end <= 2.0 and 0.0 <= word.confidence <= 1.0, word
    elif engine.task == "speaker":
        assert pipeline.sample_rate == engine.sample_rate
        assert output.shape == (pipeline.dim,) and output.dtype == np.float32
        assert np.all(np.isfinite(output)) and np.linalg.norm(output) == pytest.approx(1.0, abs=1e-4)
    elif engine.task == "rank":
        assert pipeline.sample_rate == engine.sample_rate
        assert len(output) == 2 and all(isinstance(x, float) and -1.0 <= x <= 1.0 for x in output), output
    else:
        raise AssertionError(f"no output check for task {engine.task!r}")


def _same(a, b) -> bool:
    if isinstance(a, Audio):
        return a.sample_rate == b.sample_rate and np.array_equal(a.samples, b.samples)
    return a == b


# ------------------------------------------------------------------------------------------------ models


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    """A Hugging Face cache folder; `ensure(engine)` puts the engine's tiny repos in it once per module."""
    root = tmp_path_factory.mktemp("cuda_engines")
    builders, components = all_builders()
    built: set[str] = set()

    def ensure(engine: Engine) -> Path:
        if engine.id not in built:
            install_in_hub_cache(root / "hub", engine.hub_repo, engine.revision,
                                 builders[engine.id](root / "built" / engine.id))
            for component in engine.components:
                folder = root / "built" / f"{engine.id}-{component.name}"
                install_in_hub_cache(root / "hub", component.repo, component.revision,
                                     components[engine.id][component.name](folder))
            built.add(engine.id)
        return root / "hub"

    return ensure


def _manager(engine: Engine, cache: Path, device: str, dtype: str | None = None) -> ModelManager:
    """On the GPU the device is left to the real choice ("auto"); on the CPU it is asked for, so a machine with
    a GPU still runs the CPU cases on the CPU."""
    return ModelManager(Catalog([engine]), cache_dir=cache, device="auto" if device == "cuda" else device,
                        dtype=dtype)


def _expected_dtype(device: str) -> str:
    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def _modules(pipeline) -> list[torch.nn.Module]:
    """The torch modules a pipeline holds: its attributes, and those one level down (Pocket TTS keeps its codec
    inside the processor)."""
    found: dict[int, torch.nn.Module] = {}
    for value in vars(pipeline).values():
        inner = [value] if isinstance(value, torch.nn.Module) else list(getattr(value, "__dict__", {}).values())
        found.update((id(m), m) for m in inner if isinstance(m, torch.nn.Module))
    return list(found.values())


def _kept_in_float32(module: torch.nn.Module, dtype: torch.dtype) -> set[str]:
    """Names transformers deliberately keeps in float32 whatever the load dtype (`_keep_in_fp32_modules_strict`;
    `_keep_in_fp32_modules` too when loading in float16), from every pretrained model inside `module`."""
    names: set[str] = set()
    for sub in module.modules():
        names.update(getattr(sub, "_keep_in_fp32_modules_strict", None) or ())
        if dtype == torch.float16:
            names.update(getattr(sub, "_keep_in_fp32_modules", None) or ())
    return names


# Codecs and vocoders stay float32 under any dtype (half precision is audibly worse there; issue #12).
# VibeVoice's tokenizers are not among them: its reference inference runs them in bfloat16 with the rest.
CODEC_CLASSES = ("SpeechT5HifiGan", "PocketTTSAudioTokenizerModel", "MimiModel", "EncodecModel", "DacModel")


def _codec_parameters(module: torch.nn.Module) -> set[int]:
    return {id(p) for sub in module.modules() if type(sub).__name__ in CODEC_CLASSES for p in sub.parameters()}


def _check_parameters(pipeline, device: str, dtype: str) -> None:
    """Every floating parameter is on `device` in `dtype`, except those transformers keeps in float32 and the
    codecs and vocoders, which must be float32."""
    wanted = getattr(torch, dtype)
    modules = _modules(pipeline)
    assert modules, f"{type(pipeline).__name__} holds no torch module"
    checked = 0
    for module in modules:
        kept = _kept_in_float32(module, wanted)
        codec = _codec_parameters(module)
        for name, parameter in module.named_parameters():
            assert parameter.device.type == device, f"{type(module).__name__}.{name} is on {parameter.device}"
            if not parameter.is_floating_point():
                continue
            if id(parameter) in codec:
                assert parameter.dtype == torch.float32, f"codec {type(module).__name__}.{name} is {parameter.dtype}"
                continue
            if parameter.dtype == torch.float32 and kept.intersection(name.split(".")):
                continue
            assert parameter.dtype == wanted, f"{type(module).__name__}.{name} is {parameter.dtype}, not {wanted}"
            checked += 1
    assert checked > 0


def _warm_up(device: str = "cuda") -> None:
    """First use of cuBLAS, cuDNN and attention kernels, in every dtype, so their lasting allocations exist before
    a baseline is measured and are not counted against the engine loaded after it."""
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        x = torch.ones(1, 2, 8, 16, device=device, dtype=dtype)
        torch.nn.functional.scaled_dot_product_attention(x, x, x)
        (x[0, 0] @ x[0, 0].T).sum()
        torch.nn.functional.conv1d(x[0], torch.ones(4, 8, 3, device=device, dtype=dtype))


def _settle() -> int:
    """Allocated CUDA memory once dropped objects are collected and cached blocks returned. cuBLAS keeps a
    workspace per handle in the caching allocator after the first matmul; it is not the engine's, so it is
    cleared on both sides of the comparison."""
    torch.cuda.synchronize()
    gc.collect()
    clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
    if clear is not None:
        clear()
    torch.cuda.empty_cache()
    return torch.cuda.memory_allocated()


# ------------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("engine", HUB, ids=lambda e: e.id)
@pytest.mark.parametrize("device", DEVICES)
def test_hub_engine_runs_on_the_picked_device(engine, device, hub_cache):
    """Loaded with the manager's own device and dtype choice: parameters there, finite output at the engine's
    rate, the same seed giving the same output on that device."""
    manager = _manager(engine, hub_cache(engine), device)
    dtype = _expected_dtype(device)
    assert (manager.device, manager.dtype) == (device, dtype)
    pipeline = manager.get(engine.id)
    assert isinstance(pipeline, engine.load_class())
    _check_parameters(pipeline, device, dtype)
    assert pipeline.memory_bytes() > 0
    assert manager.status()[0].state == "loaded" and manager.status()[0].memory_mb > 0

    first = _run(engine, pipeline, seed=5)
    _check_output(engine, pipeline, first)
    again = _run(engine, pipeline, seed=5)
    if engine.task in SEEDED or engine.task == "transcribe":  # sampled with a seed, or greedy decoding
        assert _same(first, again), f"{engine.id} gave different output for the same seed on {device}"
    else:  # one forward pass: the same up to kernel scheduling
        np.testing.assert_allclose(first, again, atol=1e-3)
    _check_parameters(pipeline, device, dtype)  # running moved nothing


@pytest.mark.parametrize("engine", HUB, ids=lambda e: e.id)
@pytest.mark.parametrize("device", DEVICES)
def test_unload_releases_the_engine(engine, device, hub_cache):
    """After manager.unload the pipeline object is gone and, on a GPU, the memory its weights took is back."""
    manager = _manager(engine, hub_cache(engine), device)
    if device == "cuda":
        _warm_up()
    before = _settle() if device == "cuda" else 0
    pipeline = manager.get(engine.id)
    _check_output(engine, pipeline, _run(engine, pipeline, seed=1))
    weights = pipeline.memory_bytes()
    assert weights > 0
    if device == "cuda":
        loaded = _settle()
        assert loaded - before >= 0.5 * weights, (
            f"{engine.id}: {loaded - before} bytes on the GPU for {weights} bytes of weights")
    gone = weakref.ref(pipeline)
    del pipeline
    assert manager.unload(engine.id) and manager.loaded_ids() == []
    gc.collect()
    assert gone() is None, f"{engine.id}: something still holds the unloaded pipeline"
    if device == "cuda":
        after = _settle()
        assert after - before <= LEAK_SLACK_BYTES, (
            f"{engine.id}: {after - before} bytes still allocated after unloading ({weights} bytes of weights; "
            f"{before} before loading, {loaded} loaded)")


# One fast engine per load path: SpeechT5 (hand-rolled dtype helper, vocoder component, dropout seeding),
# WavLM (single forward pass) and MusicGen (T5, whose `wo` layers transformers keeps in float32 for float16).
OVERRIDE_ENGINES = [CATALOG.get(i) for i in ("speecht5-tts", "wavlm-base-plus-sv", "musicgen-small")]


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("engine", OVERRIDE_ENGINES, ids=lambda e: e.id)
@pytest.mark.parametrize("device", DEVICES)
def test_explicit_dtype_is_honoured(engine, device, dtype, hub_cache):
    """A dtype given to the manager wins over the automatic choice, and the engine still runs in it."""
    manager = _manager(engine, hub_cache(engine), device, dtype=dtype)
    assert (manager.device, manager.dtype) == (device, dtype)
    pipeline = manager.get(engine.id)
    _check_parameters(pipeline, device, dtype)
    _check_output(engine, pipeline, _run(engine, pipeline, seed=2))
