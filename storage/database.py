"""Engine creation and schema migration.

The database URL comes from the caller so PostgreSQL works unchanged; only SQLite gets extra
set-up here, because a desktop app with several threads (and sometimes a second process) writing
to one file needs WAL, a busy timeout and writers that take the write lock up front."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event

from .errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Execution option that marks an engine whose transactions will write (see `writer`).
_WRITE_OPTION = "retake_write"


def create_engine_for(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite connections get WAL, foreign keys and a busy timeout."""
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions start with BEGIN IMMEDIATE on SQLite.

    A deferred transaction that reads and then writes can fail at once with "database is
    locked" when another connection wrote in between: SQLite cannot wait there without risking
    deadlock. Taking the write lock at BEGIN makes writers queue on the busy timeout instead."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module so `_on_begin` decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching a new file to WAL itself needs the lock.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _switch_to_wal(cursor)
            # Safe with WAL: a power cut may lose the last commits but never corrupts, and
            # blobs are fsynced before their rows, so a row never outlives its blob.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, retrying while another process holds it.

    The switch escalates a shared lock to an exclusive one, and SQLite answers "database is
    locked" at once there rather than call the busy handler (waiting could deadlock), so two
    processes opening a new file together need this retry, bounded by the same busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no alembic.ini): script location plus, optionally, the
    connection env.py should use. Also handy for `command.revision(...)` when adding a migration."""
    config = Config()
    # ConfigParser interpolation would choke on a '%' in the install path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StorageError("no migrations found in storage/migrations")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine_or_url: Engine | str | URL) -> None:
    """Upgrade the database to the newest revision; a no-op when it is already there.

    Runs in one write transaction, so two processes opening a new file at once take turns and
    the second finds the schema already at head; a database already at head is only read. On SQLite, foreign keys are switched off for the
    duration (batch migrations copy and drop tables, and a DROP would fire ON DELETE CASCADE) and
    checked with foreign_key_check before committing."""
    with _engine(engine_or_url) as engine:
        with engine.connect() as connection:  # the usual case: already current, no write lock
            if current_revision(connection) == head_revision():
                return
        _change_schema(engine, lambda config: command.upgrade(config, "head"))


def downgrade(engine_or_url: Engine | str | URL, revision: str) -> None:
    """Take the schema back to `revision` (rolling back a release), with the same care as `migrate`: a
    plain `alembic downgrade` on SQLite would let a rebuilt table's DROP cascade through every child row."""
    with _engine(engine_or_url) as engine:
        _change_schema(engine, lambda config: command.downgrade(config, revision))


@contextmanager
def _engine(engine_or_url: Engine | str | URL) -> Iterator[Engine]:
    if isinstance(engine_or_url, Engine):
        yield engine_or_url
        return
    engine = create_engine_for(engine_or_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _change_schema(engine: Engine, change: Callable[[Config], None]) -> None:
    """Run an Alembic command in one write transaction; on SQLite with foreign keys off meanwhile, and the
    references checked before committing."""
    with writer(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw: Any = connection.connection.driver_connection
        if sqlite:
            fk_before = raw.execute("PRAGMA foreign_keys").fetchone()[0]
            raw.execute("PRAGMA foreign_keys = OFF")  # only effective outside a transaction
        try:
            with connection.begin():
                before = current_revision(connection)  # under the lock: another process may have won
                change(alembic_config(connection))
                if sqlite and before != current_revision(connection):
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StorageError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute(f"PRAGMA foreign_keys = {'ON' if fk_before else 'OFF'}")
