"""Many people on one server. Each signed-in user gets a studio of their own (database, audio, background jobs
and download cache) under <data_dir>/users/<folder>; only the loaded models are shared. Isolation holds by
construction: an id one user guesses from another names nothing in their own store, through the UI, the
Gradio API or the /v1 speech API alike. Without sign-in (a local studio) none of this is used.

`RoutedStudio` stands where the UI and the API expect one `Studio`: each use case is looked up, call by call,
on the studio of the user acting now (Gradio's request for the UI, `acting_user` for the /v1 routes)."""
from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import Settings
from .service import Studio


class SignInRequired(ValueError):
    """A request on a shared server came from nobody signed in."""


# Set by the /v1 routes for the request they serve; the UI's user comes from Gradio's request instead.
acting_user: ContextVar[str | None] = ContextVar("retake_acting_user", default=None)


def oauth_user(http_request: Any) -> str | None:
    """The Hugging Face user name in a Starlette request's session (set by Gradio's OAuth login), if any."""
    scope = getattr(http_request, "scope", None) or {}
    session = scope.get("session") or {}
    info = session.get("oauth_info") or {}
    name = (info.get("userinfo") or {}).get("preferred_username")
    return str(name) if name else None


def folder_name(user: str) -> str:
    """A folder (and database) name for `user`: readable, safe, and distinct even for names that differ
    only in case or punctuation ("Bob", "bob", "b.o.b")."""
    readable = re.sub(r"[^a-z0-9]+", "_", user.lower()).strip("_")[:40] or "user"
    return f"{readable}_{hashlib.sha256(user.encode()).hexdigest()[:10]}"


def user_settings(settings: Settings, user: str) -> Settings:
    """`settings` narrowed to one user: their folder, their database, a download cache nobody can guess (the
    browser gets copies; the folder is never served by path), and the per-user quotas switched on."""
    folder = folder_name(user)
    url = settings.database_url
    if url is not None:
        url = url.replace("{user}", folder)
    cache = Path(tempfile.gettempdir()) / "retake-cache" / f"{folder}-{secrets.token_hex(16)}"
    return replace(settings, data_dir=settings.data_dir / "users" / folder, database_url=url, owner=user,
                   cache_root=cache)


class StudioPool:
    """One studio per user, opened on their first request and kept until the server stops."""

    def __init__(self, settings: Settings, models: Any = None) -> None:
        if settings.database_url and "{user}" not in settings.database_url:
            raise ValueError("With several users, RETAKE_DATABASE_URL must name one database per user: put "
                             "{user} where the database name goes, e.g. postgresql+psycopg://host/retake_{user}.")
        self.settings = settings
        self.blank = Studio.open(replace(settings, data_dir=Path(tempfile.mkdtemp(prefix="retake-blank-")),
                                         database_url=None), models)
        self.models = self.blank.models
        self._studios: dict[str, Studio] = {}
        self._lock = threading.Lock()

    def for_user(self, user: str) -> Studio:
        with self._lock:  # two tabs of one user arriving at once open one studio
            studio = self._studios.get(user)
            if studio is None:
                studio = Studio.open(user_settings(self.settings, user), self.models)
                if self.settings.app_workers:
                    studio.script_jobs.start_workers(self.settings.app_workers)
                self._studios[user] = studio
            return studio

    def close(self) -> None:
        """Close every studio; their download caches (temporary, named afresh each start) and the empty
        studio's folder go with them."""
        with self._lock:
            studios = [*self._studios.values(), self.blank]
            self._studios.clear()
        for studio in studios:
            studio.close()
            shutil.rmtree(studio.settings.cache_dir, ignore_errors=True)
        shutil.rmtree(self.blank.settings.data_dir, ignore_errors=True)


class RoutedStudio:
    """Looks like a `Studio`; `studio.takes.list(...)` runs on the acting user's own studio. While the app is
    being built (`building`), lookups go to an empty studio, so the first page shows nobody's data."""

    def __init__(self, pool: StudioPool, who: Callable[[], str | None]) -> None:
        self.pool = pool
        self.who = who
        self.settings = pool.settings
        self.models = pool.models
        self.building = True

    def current(self) -> Studio:
        user = acting_user.get() or self.who()
        if user:
            return self.pool.for_user(user)
        if self.building:
            return self.pool.blank
        raise SignInRequired("Sign in to use the studio: each person here has their own projects.")

    def signed_in(self) -> bool:
        return bool(acting_user.get() or self.who())

    def close(self) -> None:
        self.pool.close()

    def __getattr__(self, name: str) -> Any:
        return _UseCase(self, name)


class _UseCase:
    """`RoutedStudio.<name>`: resolved on every attribute access, never kept."""

    def __init__(self, routed: RoutedStudio, name: str) -> None:
        self._routed = routed
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(getattr(self._routed.current(), self._name), attr)
