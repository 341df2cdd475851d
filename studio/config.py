"""Settings come from environment variables, so the same code runs locally, in CI and in the Space."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "retake"


@dataclass(frozen=True)
class Settings:
    """Everything the studio needs to start; see the README's configuration table."""

    data_dir: Path
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    max_audio_seconds: float = 600.0
    max_upload_mb: int = 200
    max_import_mb: int = 4096  # all the audio one project archive may unpack to
    auth: tuple[str, str] | None = None
    memory_budget_mb: float | None = None  # None: half the machine's memory
    device: str | None = None  # None/"auto": cuda, then mps, then cpu
    dtype: str | None = None  # None/"auto": float32 on CPU, bfloat16/float16 on GPUs
    engine_paths: tuple[tuple[str, Path], ...] = ()  # engine id -> local folder with its weights
    gpu_concurrency: int = 2  # model-running requests served at once (speak, edit, enhance, transcribe...)
    redis_url: str | None = None  # background jobs on Redis (several worker machines) instead of SQLite in data_dir
    app_workers: int = 1  # background-job workers the app runs itself (0: only `python -m studio worker` runs them)
    watermark: bool = True  # PerthNet mark on every synthetic take (studio/marking.py); RETAKE_WATERMARK=0: off
    users: tuple[tuple[str, str], ...] = ()  # RETAKE_USERS: several sign-ins, each with a studio of its own
    admins: tuple[str, ...] = ()  # RETAKE_ADMINS: signed-in users who may unload shared models
    oauth: bool = False  # "Sign in with Hugging Face" (a Space with hf_oauth; RETAKE_OAUTH=1): one studio per user
    owner: str | None = None  # the signed-in user a per-user studio serves (studio/users.py); None: the local one
    quota_chars_per_day: int = 20_000  # per-user limits, applied to per-user studios only
    quota_storage_mb: int = 1_000
    queue_size: int = 64  # requests waiting at once; past it a visitor is told the studio is busy
    cache_root: Path | None = None  # where browser-bound files go when not in data_dir/cache (per-user studios)

    @property
    def multi_user(self) -> bool:
        """Several people share this server: each signs in and gets their own projects, voices and takes."""
        return bool(self.users) or self.oauth

    @property
    def cache_dir(self) -> Path:
        """Files handed to the browser (downloads, exports); safe to delete at any time."""
        return self.cache_root or self.data_dir / "cache"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        auth = None
        if env.get("RETAKE_AUTH"):
            user, sep, password = env["RETAKE_AUTH"].partition(":")
            if not sep or not user or not password:
                raise ValueError("RETAKE_AUTH must look like 'user:password'")
            auth = (user, password)
        return cls(
            data_dir=Path(env.get("RETAKE_DATA_DIR") or _default_data_dir()).expanduser(),
            database_url=env.get("RETAKE_DATABASE_URL") or None,
            host=env.get("RETAKE_HOST", cls.host),
            port=_number(env, "RETAKE_PORT", cls.port, int),
            max_audio_seconds=_number(env, "RETAKE_MAX_AUDIO_SECONDS", cls.max_audio_seconds, float),
            max_upload_mb=_number(env, "RETAKE_MAX_UPLOAD_MB", cls.max_upload_mb, int),
            max_import_mb=_number(env, "RETAKE_MAX_IMPORT_MB", cls.max_import_mb, int),
            auth=auth,
            memory_budget_mb=_number(env, "RETAKE_MEMORY_BUDGET_MB", None, float),
            device=env.get("RETAKE_DEVICE") or None,
            dtype=env.get("RETAKE_DTYPE") or None,
            engine_paths=_engine_paths(env.get("RETAKE_ENGINE_PATHS", "")),
            gpu_concurrency=_number(env, "RETAKE_GPU_CONCURRENCY", cls.gpu_concurrency, int),
            redis_url=env.get("RETAKE_REDIS_URL") or None,
            app_workers=_count(env, "RETAKE_APP_WORKERS", cls.app_workers),
            watermark=_flag(env, "RETAKE_WATERMARK", True),
            users=_users(env.get("RETAKE_USERS", "")),
            admins=tuple(filter(None, (a.strip() for a in env.get("RETAKE_ADMINS", "").split(",")))),
            # Spaces set OAUTH_CLIENT_ID when the card asks for hf_oauth.
            oauth=_flag(env, "RETAKE_OAUTH", bool(env.get("OAUTH_CLIENT_ID"))),
            quota_chars_per_day=_number(env, "RETAKE_QUOTA_CHARS_PER_DAY", cls.quota_chars_per_day, int),
            quota_storage_mb=_number(env, "RETAKE_QUOTA_STORAGE_MB", cls.quota_storage_mb, int),
            queue_size=_number(env, "RETAKE_QUEUE_SIZE", cls.queue_size, int),
        )


def _number(env: Mapping[str, str], name: str, default, kind):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number that may be 0 (unlike `_number`'s positive ones)."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    if not raw.strip().isdigit():
        raise ValueError(f"{name} must be a whole number (0 or more), got {raw!r}")
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    return default if not raw else raw not in ("0", "false", "no", "off")


def _users(raw: str) -> tuple[tuple[str, str], ...]:
    """'alice:secret,bob:other' -> pairs; names are unique (case-insensitively: they name data folders)."""
    pairs: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        user, sep, password = item.partition(":")
        if not sep or not user.strip() or not password:
            raise ValueError(f"RETAKE_USERS entries look like 'user:password', got {user.strip() or item!r}")
        if user.strip().lower() in {u.lower() for u, _ in pairs}:
            raise ValueError(f"RETAKE_USERS names {user.strip()!r} twice")
        pairs.append((user.strip(), password))
    return tuple(pairs)


def _engine_paths(raw: str) -> tuple[tuple[str, Path], ...]:
    """'pocket-tts=/models/pocket,whisper-small=/models/ws' -> pairs; lets users point at weights they have."""
    pairs = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        engine_id, sep, path = item.partition("=")
        if not sep or not engine_id.strip() or not path.strip():
            raise ValueError(f"RETAKE_ENGINE_PATHS entries look like 'engine-id=/path', got {item!r}")
        pairs.append((engine_id.strip(), Path(path.strip()).expanduser()))
    return tuple(pairs)
