"""Spectrogram pictures for before/after comparisons (presentation only, so it lives with the UI)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot global state shared between requests
from scipy import signal

from pipelines.audio import Audio

MAX_HZ = 12000


def spectrogram_figure(audio: Audio, title: str) -> Figure:
    window = max(256, int(audio.sample_rate * 0.032))
    freqs, times, power = signal.spectrogram(audio.samples, fs=audio.sample_rate, nperseg=window,
                                             noverlap=window * 3 // 4, scaling="spectrum")
    db = 10 * np.log10(np.maximum(power, 1e-12))
    keep = freqs <= min(MAX_HZ, audio.sample_rate / 2)
    figure = Figure(figsize=(7, 2.6), dpi=100)
    axes = figure.add_subplot()
    mesh = axes.pcolormesh(times, freqs[keep] / 1000, db[keep], shading="auto", cmap="magma",
                           vmin=-110, vmax=max(-40.0, float(db.max())))
    axes.set(title=title, xlabel="seconds", ylabel="kHz")
    figure.colorbar(mesh, ax=axes, label="dB")
    figure.tight_layout()
    return figure
