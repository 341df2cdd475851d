"""Long clips are processed in fixed blocks, so a ten-minute recording costs about one extra copy of
itself, not one float64 copy per step."""
from __future__ import annotations

from collections.abc import Iterator

__all__ = ["BLOCK", "blocks"]

BLOCK = 1 << 16  # samples per processing block: big enough for numpy, small enough to keep memory flat


def blocks(total: int, size: int = BLOCK) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive blocks of `size` samples covering `total` samples."""
    for start in range(0, total, size):
        yield start, min(total, start + size)
