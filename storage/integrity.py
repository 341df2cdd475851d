"""Is the database file whole? A damaged SQLite file otherwise surfaces as "Something went wrong" in one
list, or as a long traceback from the command line. The studio checks at start-up (`PRAGMA quick_check`)
and stops with one sentence: which file is damaged, and what to do about it."""
from __future__ import annotations

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from .errors import StorageError


class DatabaseDamaged(StorageError):
    """The database file cannot be trusted: nothing should read or write it until it is restored."""


def damaged(engine: Engine, detail: object) -> DatabaseDamaged:
    """The one sentence a person needs: the file, what is wrong, and the way back."""
    where = make_url(engine.url).database or str(engine.url)
    first = " ".join(str(detail).split()) or "unknown damage"
    return DatabaseDamaged(
        f"The database {where} is damaged ({first[:200]}). Retake stopped without changing it: restore the "
        "file from your backup, or move it aside and import your last project export "
        "(python -m studio projects import FILE).")


def check_integrity(engine: Engine) -> None:
    """Raise DatabaseDamaged unless SQLite's quick check finds the file whole (other databases: no-op)."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            problems = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except OperationalError:
        raise  # locked or unreadable: not a verdict on the file
    except DatabaseError as exc:
        raise damaged(engine, getattr(exc, "orig", exc)) from None
    if problems != ["ok"]:
        found = [str(p) for p in problems if not str(p).startswith("***")]  # skip "*** in database main ***"
        raise damaged(engine, "; ".join(found[:2]) or "quick_check failed")
