"""Audio on its way to a browser player or an API caller, at exactly its own level.

Gradio turns a `(rate, float array)` into 16-bit WAV by dividing by the peak: every player played takes
peak-normalised (an enhanced take 6.4 dB louder than stored, at 0 dBFS where its report said −1 dBTP), and
API callers downloaded that. So players (`player()`) get the samples encoded as takes are stored
(`playable`: 24-bit FLAC, the same encoder), so a player's file decodes to the stored take bit for bit, for a
take just made as for one read back. The live stream gets 16-bit samples scaled, never normalised
(`live_chunk`). This is the UI layer's business, so `pipelines.audio` knows nothing of Gradio."""
from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from pipelines.audio import Audio, encode
from studio.media import write_atomic

FOLDER = "retake-players"
KEEP_S = 24 * 3600  # a player file older than this is removed when the next one is written
FORMAT = "flac"  # what takes are stored as (pipelines.audio: 24-bit FLAC)


def player(label: str, elem_id: str | None = None, **kwargs) -> gr.Audio:
    """An output player for `playable` files. Its `format` stays unset: with one set, Gradio decodes a file of
    another format and writes it again, peak-normalised; unset, a FLAC file is served as it is."""
    return gr.Audio(label=label, interactive=False, elem_id=elem_id, **kwargs)


def playable(audio: Audio) -> str:
    """`audio` encoded exactly as a take is stored, in Gradio's cache folder (which Gradio may serve); the
    same samples give the same file, written once."""
    data = encode(audio, FORMAT)
    folder = Path(get_upload_folder()) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.{FORMAT}"
    if not path.exists():
        _remove_older_than(folder, time.time() - KEEP_S)
        write_atomic(path, data)
    return str(path)


def live_chunk(audio: Audio) -> tuple[int, np.ndarray]:
    """A chunk for the streaming player as 16-bit samples at their own level (Gradio leaves int16 as it is)."""
    scaled = np.clip(np.round(audio.samples.astype(np.float64) * 32768.0), -32768, 32767)
    return audio.sample_rate, scaled.astype(np.int16)


def _remove_older_than(folder: Path, cutoff: float) -> None:
    """Gradio serves copies of these files from its own cache (which `delete_cache` bounds), so ours are only
    needed for a moment; without this they would pile up for as long as the server runs."""
    for old in folder.iterdir():
        with contextlib.suppress(OSError):  # another thread may remove or replace it first
            if old.stat().st_mtime < cutoff:
                old.unlink()
