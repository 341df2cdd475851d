"""Running a native frame-by-frame denoiser over audio of any rate and length, in blocks.

Shared by the embedded enhancers (DeepFilterNet3, RNNoise), which differ only in the engine behind the
frame callback: resampling in and out, delay compensation and bounded memory are the same for both.
"""
from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, Callable, Iterator

import numpy as np
import soxr

from ..audio import Audio
from . import EnhancePipeline

# The same soxr setting as pipelines.audio.resample: ResampleStream fed block by block gives
# bit-identical samples to that one-shot call, without holding the whole clip at the engine's rate.
_RESAMPLE_QUALITY = "HQ"

FrameProcessor = Callable[[np.ndarray, np.ndarray], None]


def check_audio(audio: Any) -> Audio:
    if not isinstance(audio, Audio):
        raise ValueError(f"audio must be an Audio value (mono float32 + rate), got {type(audio).__name__}; "
                         "use pipelines.audio.load() to make one.")
    return audio


def check_block_seconds(block_seconds: Any) -> float:
    try:
        value = float(block_seconds)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0 or value > 600:
        raise ValueError(f"block_seconds must be a number of seconds in (0, 600], got {block_seconds!r}.")
    return value


def stream_frames(audio: Audio, *, engine_rate: int, hop: int, delay: int, process: FrameProcessor,
                  block_seconds: float = 1.0) -> Iterator[Audio]:
    """Run a native frame-by-frame engine over `audio` in blocks and yield time-aligned cleaned blocks
    at the input's own rate; concatenated, they are exactly as long as the input.

    `process(inp, out)` runs the engine over `inp` (engine-rate float32, a whole number of hops) into
    the same-sized `out`. `delay` is the engine's algorithmic latency in engine-rate samples: that many
    leading output samples are dropped and the input is padded with as many zeros at the end, so
    output sample t answers input sample t. Memory is a few blocks whatever the input length.
    """
    block = max(1, int(round(block_seconds * audio.sample_rate)))
    rate, total = audio.sample_rate, audio.num_samples
    if total == 0:
        return
    into = None if rate == engine_rate else soxr.ResampleStream(
        rate, engine_rate, 1, dtype="float32", quality=_RESAMPLE_QUALITY)
    back = None if rate == engine_rate else soxr.ResampleStream(
        engine_rate, rate, 1, dtype="float32", quality=_RESAMPLE_QUALITY)
    pending = np.zeros(0, dtype=np.float32)  # engine-rate input short of a whole hop
    fed = 0        # engine-rate input samples seen (real audio, not padding)
    skip = delay   # leading engine outputs still to drop
    passed = 0     # engine-rate outputs handed on (after the delay)
    emitted = 0    # input-rate samples yielded
    for start in range(0, total, block):
        last = start + block >= total
        chunk = audio.samples[start:start + block]
        x = chunk if into is None else into.resample_chunk(chunk, last=last)
        fed += x.size
        parts = [pending, x]
        if last:  # enough trailing zeros to push the final real samples through the delay line
            # (all `fed` samples are by now processed or in `pending`/`x`)
            parts.append(np.zeros(-(-(fed + delay) // hop) * hop - fed, dtype=np.float32))
        buf = np.concatenate(parts) if pending.size or len(parts) > 2 else x
        whole = buf.size - buf.size % hop
        out = np.empty(whole, dtype=np.float32)
        if whole:
            process(buf[:whole], out)
        pending = buf[whole:].copy()
        dropped = min(skip, whole)
        skip -= dropped
        y = out[dropped:]
        if last:
            y = y[:fed - passed]
        passed += y.size
        z = y if back is None else back.resample_chunk(y, last=last)
        if last:
            want = total - emitted
            z = z[:want] if z.size >= want else np.concatenate([z, np.zeros(want - z.size, np.float32)])
        emitted += z.size
        if z.size:
            yield Audio(z, rate)


def collect(blocks: Iterator[Audio], audio: Audio) -> Audio:
    """Gather streamed blocks into one preallocated clip the input's length."""
    out = np.empty(audio.num_samples, dtype=np.float32)
    pos = 0
    for part in blocks:
        out[pos:pos + part.num_samples] = part.samples
        pos += part.num_samples
    if pos != out.size:  # stream_frames guarantees this; a mismatch is a bug, not bad input
        raise RuntimeError(f"enhancer produced {pos} samples for {out.size} input samples")
    return Audio(out, audio.sample_rate)


def check_device(device: Any) -> None:
    """The runtime is CPU-only, but a GPU machine's manager may ask for cuda: run on the CPU then."""
    if device is None or str(device).split(":")[0] in ("cpu", "auto", "cuda", "mps"):
        return
    raise ValueError(f"device={device!r} is not a device name; use 'cpu' (this engine runs on the CPU).")


class FramedEnhancePipeline(EnhancePipeline):
    """An enhancer that runs a native engine frame by frame through `stream_frames`: the whole-clip call and
    the stream share one path, so they give the same samples. Subclasses implement `_cleaned_blocks`."""

    def stream(self, audio: Audio, block_seconds: float = 1.0) -> Iterator[Audio]:
        """Cleaned audio in blocks of about `block_seconds`, at the input's rate and time-aligned
        with it; concatenated they equal `self(audio)`. Memory stays flat in the input's length."""
        audio = check_audio(audio)
        block_seconds = check_block_seconds(block_seconds)
        return self._cleaned_blocks(audio, block_seconds)

    def __call__(self, audio: Audio) -> Audio:
        """Cleaned audio at the input's own rate and length."""
        audio = check_audio(audio)
        return collect(self._cleaned_blocks(audio, 1.0), audio)

    @abstractmethod
    def _cleaned_blocks(self, audio: Audio, block_seconds: float) -> Iterator[Audio]:
        """The engine's state for one stream around `stream_frames` (input already checked)."""
