"""Drill figures: every drill records how many cases it tried, how many faults it survived (a clear refusal)
and how much data was lost, plus figures of its own (kills, clients, seconds to idle...); at the end of the run
they are printed in pytest's summary and written to artifacts/drills.json."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tests.conftest import ROOT

_FIGURES: dict[str, dict[str, float]] = defaultdict(lambda: {"cases": 0, "refused": 0, "accepted": 0,
                                                            "data_lost": 0})


class Tally:
    """One drill's counters."""

    def __init__(self, name: str) -> None:
        self.figures = _FIGURES[name]

    def refused(self) -> None:
        self.figures["cases"] += 1
        self.figures["refused"] += 1

    def accepted(self) -> None:
        self.figures["cases"] += 1
        self.figures["accepted"] += 1

    def lost(self, n: int = 1) -> None:
        self.figures["data_lost"] += n

    def add(self, figure: str, n: int = 1) -> None:
        """A figure of this drill's own (kills, clean restarts, calls, errors...): counted up."""
        self.figures[figure] = self.figures.get(figure, 0) + n

    def record(self, figure: str, value: float) -> None:
        """A measured figure (seconds to idle, MB): the worst value seen is kept."""
        self.figures[figure] = max(self.figures.get(figure, value), value)


@pytest.fixture
def tally(request) -> Tally:
    return Tally(request.node.originalname)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    out = ROOT / "artifacts" / "drills.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(_FIGURES, indent=1, sort_keys=True))
    width = max(map(len, _FIGURES))
    standard = ("cases", "refused", "accepted", "data_lost")
    lines = [f"{name:<{width}}  cases {f['cases']:>4}  refused clearly {f['refused']:>4}  "
             f"accepted {f['accepted']:>4}  data lost {f['data_lost']}"
             + "".join(f"  {k.replace('_', ' ')} {_figure(v)}" for k, v in f.items() if k not in standard)
             for name, f in sorted(_FIGURES.items())]
    terminalreporter.write_sep("=", "drill figures (also in artifacts/drills.json)")
    for line in lines:
        terminalreporter.write_line(line)


def _figure(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
