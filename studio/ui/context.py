"""What the tabs share: the use cases, the project picker, the GPU queue, and the signals one tab raises and
others follow.

Each tab module lays out its parts (`render(ctx)` returns a dataclass of them), then wires its events
(`listen(ctx, parts)`). A tab whose events make or change takes says so (`ctx.takes_changed.raised_by(...)`);
a tab that shows takes asks to be refreshed (`ctx.takes_changed.follow(...)`). `connect()` runs once every
tab has listened and wires each raise to each follower, so no tab needs to know which other tabs exist."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import gradio as gr

from studio.service import Studio

GPU_QUEUE = "gpu"


@dataclass(frozen=True)
class Follower:
    """A refresh to run after a signal or on page load: `fn(*inputs) -> outputs`; `owner` is the tab a
    signal's follower belongs to."""
    fn: Callable[..., Any]
    inputs: Sequence[gr.components.Component]
    outputs: Sequence[gr.components.Component]
    owner: str = ""
    api_name: str | Literal[False] = False


@dataclass
class Signal:
    """Something that happened which other tabs show: the events that cause it and the refreshes that follow.
    A tab's own events do not refresh that tab again (its handlers already return fresh values)."""
    causes: list[tuple[str, Any]] = field(default_factory=list)
    followers: list[Follower] = field(default_factory=list)

    def raised_by(self, owner: str, *events: Any) -> None:
        self.causes.extend((owner, event) for event in events)

    def follow(self, owner: str, fn: Callable[..., Any], inputs: Sequence, outputs: Sequence) -> None:
        self.followers.append(Follower(fn, list(inputs), list(outputs), owner))

    def connect(self) -> None:
        for owner, event in self.causes:
            for f in self.followers:
                if f.owner != owner:
                    event.success(f.fn, f.inputs, f.outputs, api_name=False)


@dataclass
class PageLoad:
    """Refreshes that fill a freshly opened page, run one after another in the order the tabs asked."""
    steps: list[Follower] = field(default_factory=list)

    def then(self, fn: Callable[..., Any], inputs: Sequence, outputs: Sequence,
             api_name: str | Literal[False] = False) -> None:
        self.steps.append(Follower(fn, list(inputs), list(outputs), api_name=api_name))

    def connect(self, demo: gr.Blocks, signed_in: Callable[[], bool]) -> None:
        chain = None
        for step in self.steps:
            start = demo.load if chain is None else chain.then
            # False keeps the event out of the API; Gradio's annotation (str | None) does not list it.
            chain = start(_when_signed_in(step, signed_in), step.inputs, step.outputs,
                          api_name=step.api_name)  # type: ignore[arg-type]


def _when_signed_in(step: Follower, signed_in: Callable[[], bool]) -> Callable[..., Any]:
    """A page opened by nobody signed in (a shared server's visitor before signing in) keeps its empty pickers
    instead of raising one "sign in" error per refresh."""
    @functools.wraps(step.fn)
    def fill(*args: Any, **kwargs: Any) -> Any:
        if not signed_in():
            skips = tuple(gr.skip() for _ in step.outputs)
            return skips[0] if len(skips) == 1 else skips
        return step.fn(*args, **kwargs)
    return fill


@dataclass
class UIContext:
    """Built once per app; every tab's `render` and `listen` receive it."""
    studio: Studio
    project: gr.Dropdown
    gpu_concurrency: int = 2
    signed_in: Callable[[], bool] = lambda: True  # False: a shared server's visitor who has not signed in
    voices_changed: Signal = field(default_factory=Signal)
    takes_changed: Signal = field(default_factory=Signal)
    page_load: PageLoad = field(default_factory=PageLoad)

    @property
    def gpu(self) -> dict[str, Any]:
        """Event options for work that runs a model: one shared queue, at most `gpu_concurrency` at a time,
        so two narrations and an edit cannot all load the accelerator at once."""
        return {"concurrency_id": GPU_QUEUE, "concurrency_limit": self.gpu_concurrency}

    def connect(self, demo: gr.Blocks) -> None:
        self.voices_changed.connect()
        self.takes_changed.connect()
        self.page_load.connect(demo, self.signed_in)
