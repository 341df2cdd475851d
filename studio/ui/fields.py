"""Form fields shared by the tabs: seed boxes and read-only tables.

A seed is optional: empty means "draw one". Gradio's number field cannot hold "empty" — inside a closed
accordion it is sent as None, but once the accordion is opened it shows and sends 0, so whether a take was
random depended on whether Options had ever been opened. A seed is therefore a one-line text box, read here.

Gradio sizes a table's columns from its cells, which it keeps on one line: a wide table scrolled sideways and
its headers broke mid-word ("clon|es", "simi|lari|ty") at 1280 px. Our tables wrap cells at spaces only,
never inside a word, with column widths chosen per table (`TABLE_CSS`, passed to `launch`)."""
from __future__ import annotations

import re

import gradio as gr

from pipelines.seeds import check_seed

_DIGITS = re.compile(r"\d+")
TABLE_CLASS = "retake-table"
TABLE_CSS = f"""
.{TABLE_CLASS} .cell-wrap {{ white-space: normal !important; }}
.{TABLE_CLASS} .cell-wrap, .{TABLE_CLASS} .header {{
    word-break: keep-all !important; overflow-wrap: normal !important; hyphens: none !important; }}
"""


def table(headers: list[str], elem_id: str, column_widths: list[str | int] | None = None,
          max_height: int = 500) -> gr.Dataframe:
    """A read-only table whose cells wrap between words (`TABLE_CSS`)."""
    return gr.Dataframe(headers=headers, interactive=False, elem_id=elem_id, wrap=True, max_height=max_height,
                        column_widths=column_widths, elem_classes=[TABLE_CLASS])


def seed_box(label: str = "Seed (empty = random)", elem_id: str | None = None, **kwargs) -> gr.Textbox:
    return gr.Textbox(label=label, value="", placeholder="random", max_lines=1, elem_id=elem_id, **kwargs)


def parse_seed(value) -> int | None:
    """What a seed box (or an API caller: text, a number, None) holds: None for empty, else a whole number,
    or a ValueError saying what a seed may be."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not _DIGITS.fullmatch(text):
            raise ValueError(f"Seed must be a whole number (0 or more), or empty for a random one; got {value!r}.")
        value = int(text)
    return check_seed(value)


def optional_box(label: str, placeholder: str, elem_id: str | None = None) -> gr.Textbox:
    """A number that may be left empty: a gr.Number sends 0 when nobody typed anything, which would mean
    something (word 0, zero seconds)."""
    return gr.Textbox(label=label, placeholder=placeholder, elem_id=elem_id, max_lines=1)


def parse_optional(value, what: str, *, whole: bool = False) -> float | int | None:
    """What an optional box (or an API caller: text, a number, None) holds: None for empty, else a number
    (a whole one with `whole`), or a ValueError naming the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, or empty; got {value!r}.") from None
    if whole:
        if not number.is_integer() or number < 0:
            raise ValueError(f"{what} must be a whole number (0 or more), or empty; got {value!r}.")
        return int(number)
    return number
