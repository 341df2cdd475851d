"""`studio.ui.cancellation`: a `@cancellable` handler gets its own token, which is cancelled when the task
awaiting it is cancelled (what Gradio's /cancel does) or its session is cancelled (what `unload` does);
`Cancelled` reaches the browser as a short message. Driven with asyncio directly, no server."""
from __future__ import annotations

import asyncio
import threading

import anyio
import gradio as gr
import pytest

from pipelines.cancel import CANCELLED, LEFT, Cancelled, CancelToken
from studio.ui.cancellation import CANCELLED_MESSAGE, SESSIONS, Sessions, cancellable, current_token


def test_sessions_cancel_only_their_own_tokens():
    sessions = Sessions()
    a1, a2, b = CancelToken(), CancelToken(), CancelToken()
    sessions.add("a", a1)
    sessions.add("a", a2)
    sessions.add("b", b)
    sessions.remove("a", a2)
    assert sessions.running() == 2
    assert sessions.cancel("a") == 1
    assert a1.cancelled and not a2.cancelled and not b.cancelled
    assert a1.reason == LEFT  # a departed browser: a narration keeps what it spoke
    assert sessions.cancel("a") == 0 and sessions.running() == 1


def test_no_token_outside_a_cancellable_handler():
    assert current_token() is None


def test_a_handler_sees_its_token_and_returns_normally():
    @cancellable
    def work(x):
        token = current_token()
        assert token is not None and not token.cancelled
        return x * 2

    assert asyncio.run(work(21)) == 42
    assert SESSIONS.running() == 0


def test_cancelling_the_awaiting_task_cancels_the_handlers_token():
    started, seen = threading.Event(), {}

    @cancellable
    def work():
        token = current_token()
        seen["token"] = token
        started.set()
        token.wait(30)  # returns at once when cancelled
        token.check()

    async def main():
        task = asyncio.create_task(work())
        await anyio.to_thread.run_sync(started.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen["token"].cancelled and seen["token"].reason == CANCELLED  # the stop button: keep nothing


def test_cancelling_the_session_cancels_its_running_handler():
    @cancellable
    def work():
        token = current_token()
        assert SESSIONS.cancel("") == 1  # outside Gradio the session is ""; here it cancels itself
        token.check()

    with pytest.raises(gr.Error, match=CANCELLED_MESSAGE):
        asyncio.run(work())


def test_a_streaming_handler_closed_early_cancels_its_token():
    seen = {}

    @cancellable
    def chunks():
        seen["token"] = current_token()
        for i in range(100):
            seen["token"].check()
            yield i

    async def main():
        stream = chunks()
        assert [await stream.__anext__(), await stream.__anext__()] == [0, 1]
        await stream.aclose()  # what happens to a stream whose event is cancelled

    asyncio.run(main())
    assert seen["token"].cancelled


def test_cancelled_in_a_stream_is_a_short_message():
    @cancellable
    def chunks():
        yield 1
        raise Cancelled()

    async def main():
        return [item async for item in chunks()]

    with pytest.raises(gr.Error, match=CANCELLED_MESSAGE):
        asyncio.run(main())
