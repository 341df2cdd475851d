"""The one place where domain errors become messages a person can read in the browser."""
from __future__ import annotations

import errno
import functools
import logging
from typing import Callable, TypeVar

import gradio as gr

from pipelines.base import EngineError
from storage import StorageError

log = logging.getLogger("retake.ui")
F = TypeVar("F", bound=Callable)

# ValueError covers bad input everywhere (AudioError and ConsentRequired derive from it); EngineError
# explains why a model cannot be used (offline, gated, not installed).
USER_ERRORS = (ValueError, StorageError, EngineError)


def user_errors(fn: F) -> F:
    """Run a handler; expected failures become `gr.Error` with their own message, others a short notice."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as error:
            raise gr.Error(str(error), print_exception=False) from None
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise gr.Error("The disk is full: nothing was saved. Free some space and try again.",
                               print_exception=False) from None
            log.exception("I/O failure in %s", fn.__name__)
            raise gr.Error(f"Could not read or write a file ({error.strerror or error}).",
                           print_exception=False) from None
        except Exception:
            log.exception("Unexpected failure in %s", fn.__name__)
            raise gr.Error("Something went wrong on the server; nothing was saved. The server log has details.",
                           print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def require_id(value, message: str) -> int:
    """A dropdown left empty is a user mistake, not a crash."""
    if value in (None, ""):
        raise ValueError(message)
    return int(value)


def require_engine(value) -> str:
    if not value:
        raise ValueError("Choose an engine first.")
    return str(value)
