"""Shared form fields (issue #11): seed boxes where empty means random, engine pickers that show each state."""
from __future__ import annotations

import pytest

from studio.ui.choices import engine_choices
from studio.ui.fields import parse_seed, seed_box


@pytest.mark.parametrize("value, seed", [(None, None), ("", None), ("   ", None), ("0", 0), (" 42 ", 42),
                                         (7, 7), (7.0, 7), (str(2**63 - 1), 2**63 - 1)])
def test_a_seed_box_reads_empty_as_random_and_digits_as_the_seed(value, seed):
    assert parse_seed(value) == seed


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "1e3", 2**63, -3, 2.5])
def test_anything_else_is_refused_with_what_a_seed_may_be(value):
    with pytest.raises(ValueError, match="(?i)seed must be"):
        parse_seed(value)


def test_the_box_starts_empty():
    box = seed_box(elem_id="s")
    assert box.value == "" and box.placeholder == "random"


def test_every_engine_picker_says_what_each_engine_needs(studio):
    """Issue #11: the Edit and Enhance pickers used to list raw ids with no hint that one cannot run here."""
    statuses = studio.engines.statuses()
    for task in ("speak", "transcribe", "enhance"):
        choices = engine_choices(statuses, task)
        assert [engine_id for _, engine_id in choices] == studio.engines.ids(task)
        assert all(" — " in label for label, _ in choices)
    transcribers = dict((engine_id, label) for label, engine_id in engine_choices(statuses, "transcribe"))
    assert "— offline" in transcribers["whisper-base-embedded"]  # "offline" or "offline, loaded"
    assert transcribers["whisper-small"].endswith("— needs download")
