"""Waveform pictures with markers where edits landed (presentation only, so it lives with the UI)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot global state shared between requests

from pipelines.audio import Audio

COLORS = {"delete": "#d62728", "insert": "#2ca02c", "replace": "#1f77b4"}
POINTS = 2000


def envelope(audio: Audio, points: int = POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min and max per column: a long take drawn sample by sample would be slow and look the same."""
    samples = audio.samples
    columns = max(1, min(points, samples.size))
    edges = np.linspace(0, samples.size, columns + 1).astype(int)
    lows = np.array([samples[a:b].min() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])
    highs = np.array([samples[a:b].max() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])
    times = edges[:-1] / audio.sample_rate
    return times, lows, highs


def waveform_figure(audio: Audio, title: str, spans: Sequence[tuple[str, float, float]] = (),
                    seams: Sequence[float] = ()) -> Figure:
    """The take's waveform; each (kind, start, end) span shaded by kind, each seam a dashed line."""
    times, lows, highs = envelope(audio)
    figure = Figure(figsize=(7, 2.2), dpi=100)
    axes = figure.add_subplot()
    axes.fill_between(times, lows, highs, color="#444444", linewidth=0)
    for kind, start, end in spans:
        width = max(end - start, 0.01)  # a deletion leaves a point: show it as a thin band
        axes.axvspan(start, start + width, color=COLORS.get(kind, "#ff7f0e"), alpha=0.3, label=kind)
    for at in seams:
        axes.axvline(at, color="#ff7f0e", linestyle="--", linewidth=0.8)
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        unique = dict(zip(labels, handles))
        axes.legend(unique.values(), unique.keys(), loc="upper right", fontsize=8)
    axes.set(title=title, xlabel="seconds", xlim=(0, max(audio.duration, 0.01)), ylim=(-1, 1))
    axes.set_yticks([])
    figure.tight_layout()
    return figure
