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
        assert sorted(engine_id for _, engine_id in choices) == sorted(studio.engines.ids(task))
        assert all(" — " in label and " · " in label for label, _ in choices)
    transcribers = dict((engine_id, label) for label, engine_id in engine_choices(statuses, "transcribe"))
    assert "— offline" in transcribers["whisper-base-embedded"]  # "offline" or "offline, loaded"
    assert "— needs download" in transcribers["whisper-small"]
    assert "needs a GPU" in transcribers["whisper-large-v3-turbo"]
    assert "needs a GPU" not in transcribers["whisper-small"]


def test_the_speak_picker_puts_what_the_person_has_first(studio):
    """Issue #12: offline and downloaded engines before those needing a download; licences shown."""
    statuses = {s.engine.id: s for s in studio.engines.statuses()}
    ranks = [("offline" in label or "downloaded" in label) for label, _ in engine_choices(list(statuses.values()),
                                                                                           "speak")]
    assert ranks == sorted(ranks, reverse=True) and ranks[0]
    labels = dict((engine_id, label) for label, engine_id in engine_choices(list(statuses.values()), "speak"))
    assert labels["csm-1b"].index("— needs download") < labels["csm-1b"].index("gated")
    assert "Apache-2.0" in labels["csm-1b"] and "needs a GPU" in labels["csm-1b"]
    assert "not a clone" in labels["speecht5-tts"]
    assert "GPL" in labels["piper-joe-embedded"] and "GPL" in labels["kokoro-82m-embedded"]  # never cut away
