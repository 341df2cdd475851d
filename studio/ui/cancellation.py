"""Stopping a handler's long work when its request is cancelled or its browser goes away.

What Gradio 6 does, read from its source (gradio/routes.py, utils.py, blocks.py, queueing.py): a cancel
(`gradio_client`'s `job.cancel()`, the browser's stop) posts to `/cancel`, which calls `task.cancel()` on the
asyncio task that runs the event. A sync handler runs inside that task as `await anyio.to_thread.run_sync(fn)`
in a shielded scope: the task only notices once the thread returns, and nothing tells the function — the work
went on to the end (the fault). A closed tab ends its heartbeat stream; Gradio then runs the `unload` events
with the session's request, and also does not touch running threads. A sync generator stops between yields.

So `@cancellable` (put above `@user_errors`) turns the handler into an async one that runs the sync body in a
worker thread itself, with `abandon_on_cancel=True`: Gradio's cancel reaches our await at once, and we cancel
the event's `CancelToken`, which the use case checks between chunks (`pipelines.cancel`). The token is also
registered under the request's session, so `cancel_session` (wired to `demo.unload`) stops every job of a
browser that is gone. The handler passes `cancel=current_token()` to its use case."""
from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import gradio as gr
from gradio.context import LocalContext

from pipelines.cancel import LEFT, Cancelled, CancelToken

F = TypeVar("F", bound=Callable[..., Any])
CANCELLED_MESSAGE = "Cancelled: the work was stopped and nothing was saved."

_current: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("retake_cancel", default=None)
_DONE = object()


class Sessions:
    """The tokens of the jobs running for each browser session (any thread may add, remove or cancel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, set[CancelToken]] = defaultdict(set)

    def add(self, session: str, token: CancelToken) -> None:
        with self._lock:
            self._tokens[session].add(token)

    def remove(self, session: str, token: CancelToken) -> None:
        with self._lock:
            tokens = self._tokens.get(session)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._tokens[session]

    def cancel(self, session: str, reason: str = LEFT) -> int:
        """Cancel every running job of `session`; how many there were."""
        with self._lock:
            tokens = self._tokens.pop(session, set())
        for token in tokens:
            token.cancel(reason)
        return len(tokens)

    def running(self) -> int:
        with self._lock:
            return sum(len(t) for t in self._tokens.values())


SESSIONS = Sessions()


def current_token() -> CancelToken | None:
    """The token of the event this handler runs for (None outside a `@cancellable` handler)."""
    return _current.get()


def cancel_session(request: gr.Request) -> None:
    """For `demo.unload`: the browser is gone, so is the point of its running jobs (cancelled as `LEFT`: a
    narration keeps what it already spoke)."""
    if request is not None and request.session_hash:
        SESSIONS.cancel(request.session_hash)


def _session() -> str:
    request = LocalContext.request.get(None)
    return (request.session_hash if request is not None else None) or ""


def _context(token: CancelToken) -> contextvars.Context:
    context = contextvars.copy_context()  # Gradio's own context (progress, request) plus the token
    context.run(_current.set, token)
    return context


def _next(iterator: Any) -> Any:
    return next(iterator, _DONE)


def cancellable(fn: F) -> F:
    """Run the sync handler `fn` (plain or generator) so that its token is cancelled when Gradio cancels the
    event or the session's browser goes away; `Cancelled` becomes a short message, not a traceback."""

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        async def stream(*args: Any, **kwargs: Any) -> Any:
            token, session = CancelToken(), _session()
            SESSIONS.add(session, token)
            try:
                iterator = fn(*args, **kwargs)
                while True:
                    item = await anyio.to_thread.run_sync(_context(token).run, _next, iterator,
                                                          abandon_on_cancel=True)
                    if item is _DONE:
                        return
                    yield item
            except Cancelled:
                raise gr.Error(CANCELLED_MESSAGE, print_exception=False) from None
            except BaseException:  # the event was cancelled (CancelledError) or the stream closed early
                token.cancel()
                raise
            finally:
                SESSIONS.remove(session, token)

        return stream  # type: ignore[return-value]

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        token, session = CancelToken(), _session()
        SESSIONS.add(session, token)
        try:
            return await anyio.to_thread.run_sync(_context(token).run, functools.partial(fn, *args, **kwargs),
                                                  abandon_on_cancel=True)
        except Cancelled:
            raise gr.Error(CANCELLED_MESSAGE, print_exception=False) from None
        except BaseException:
            token.cancel()
            raise
        finally:
            SESSIONS.remove(session, token)

    return run  # type: ignore[return-value]
