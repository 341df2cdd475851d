"""Work done, counted instead of timed: a wall clock on a shared 2-core machine says more about the neighbours
than about the code, while a count of function calls is the same on every run. A linear-time check runs the
code on n and 2n items and compares the counts."""
from __future__ import annotations

import sys
from typing import Any, Callable


def count_calls(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """fn's result and how many Python and C functions it called (everything it ran, at any depth)."""
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return result, calls


def growth(fn: Callable[[int], Any], n: int) -> float:
    """How much more work fn(2n) does than fn(n): about 2 for linear time, about 4 for quadratic. fn(n) runs
    once first, so one-time work (imports, caches) is not counted."""
    fn(n)
    _, small = count_calls(fn, n)
    _, large = count_calls(fn, 2 * n)
    return large / max(small, 1)
