"""The one place where domain errors become messages a person can read in the browser."""
from __future__ import annotations

import errno
import functools
import inspect
import logging
import re
from typing import Callable, TypeVar

import gradio as gr

from pipelines.base import EngineError
from storage import StorageError

log = logging.getLogger("retake.ui")
F = TypeVar("F", bound=Callable)

# ValueError covers bad input everywhere (AudioError and ConsentRequired derive from it); EngineError
# explains why a model cannot be used (offline, gated, not installed).
USER_ERRORS = (ValueError, StorageError, EngineError)
_NOT_AN_ID = re.compile(r"invalid literal for int\(\) with base 10: (.*)$")


def user_errors(fn: F) -> F:
    """Run a handler; expected failures become `gr.Error` with their own message, others a short notice.
    Generator handlers (streaming outputs) are wrapped as generators, so errors raised while they stream
    are translated too."""

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                raise _readable(error, fn) from None

        return stream  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _readable(error, fn) from None

    return wrapper  # type: ignore[return-value]


def _readable(error: Exception, fn: Callable) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ValueError) and (bad := _NOT_AN_ID.match(str(error))):
        # An API caller passed text where an id goes: handlers convert ids with int() (pickers accept any value).
        return gr.Error(f"Ids are whole numbers; got {bad.group(1)}.", print_exception=False)
    if isinstance(error, USER_ERRORS):
        return gr.Error(str(error), print_exception=False)
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return gr.Error("The disk is full: nothing was saved. Free some space and try again.",
                            print_exception=False)
        log.error("I/O failure in %s", fn.__name__, exc_info=error)
        return gr.Error(f"Could not read or write a file ({error.strerror or error}).", print_exception=False)
    log.error("Unexpected failure in %s", fn.__name__, exc_info=error)
    return gr.Error("Something went wrong on the server; nothing was saved. The server log has details.",
                    print_exception=False)


def require_id(value, message: str) -> int:
    """A dropdown left empty (or an API caller's id that is not a number) is a user mistake, not a crash."""
    if value in (None, ""):
        raise ValueError(message)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{message} (got {value!r}, not an id)") from None


def require_engine(value) -> str:
    if not value:
        raise ValueError("Choose an engine first.")
    return str(value)
