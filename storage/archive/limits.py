"""What an archive may unpack to. An archive is an upload: its members' sizes are checked against these
limits from the zip's directory *before* a byte is inflated (a zip bomb is refused, not unpacked), and each
member is streamed and counted as it is read, so a directory that lies cannot get past them either."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024

AudioCheck = Callable[[Path], float]
"""Decode the file at the path as audio and return its length in seconds; ValueError when it is not audio
(or is longer than allowed). Storage does not decode audio itself: the studio passes its loader."""


@dataclass(frozen=True)
class ImportLimits:
    max_member_bytes: int = 200 * MB  # one recording (the studio passes its upload limit)
    max_total_bytes: int = 4096 * MB  # everything the archive unpacks to
    max_audio_seconds: float | None = None  # declared and decoded length of each clip or take
    check_audio: AudioCheck | None = None  # None: bytes are checked by sha256 only

    def __post_init__(self) -> None:
        if self.max_member_bytes <= 0 or self.max_total_bytes <= 0:
            raise ValueError("archive import limits must be positive")


def size_text(n: int) -> str:
    """Bytes as a person reads them: '1.0 GB', '5 MB', '312 KB'."""
    if n >= 1024 * MB:
        return f"{n / (1024 * MB):.1f} GB"
    if n >= MB:
        return f"{n / MB:.0f} MB"
    return f"{max(1, round(n / 1024))} KB"
