"""The kernels' fast ``CrossingEvents`` against the validated ``crossing_event``."""

from __future__ import annotations

import copy
import pickle
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.config import LineConfig
from schemas.events import EVENT_NAMESPACE, CrossingEvent, crossing_id
from streams.core.counting.events import CrossingEvents, crossing_event

names = st.text("abcXYZ019_.:-", min_size=1, max_size=12)


@st.composite
def lines(draw: st.DrawFn, index: int) -> LineConfig:
    zones = draw(st.lists(names, min_size=2, max_size=2, unique=True))
    return LineConfig(
        id=f"{draw(names)}{index}",
        camera_id="cam",
        points=((0.0, 0.0), (10.0, 0.0)),
        from_zone=zones[0],
        to_zone=zones[1],
        allowed=draw(st.sampled_from(["both", "in", "out"])),
    )


crossings = st.tuples(
    st.integers(0, 2),  # line
    st.integers(0, 2**40),  # track id
    st.booleans(),  # inward
    st.integers(0, 2**40),  # frame number
    # Capture times: whole seconds, microseconds, halves of microseconds
    # (where rounding decides), and 2026-ish epoch seconds.
    st.one_of(
        st.floats(0, 4e9, allow_nan=False),
        st.integers(0, 4 * 10**15).map(lambda us: us / 1e6),
        st.integers(0, 8 * 10**15).map(lambda hus: hus / 2e6),
    ),
)


def assert_same_event(fast: CrossingEvent | None, slow: CrossingEvent | None) -> None:
    if slow is None:
        assert fast is None
        return
    assert fast is not None
    assert type(fast) is CrossingEvent
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_dump_json(exclude_unset=True) == slow.model_dump_json(exclude_unset=True)
    assert fast.model_dump() == slow.model_dump()
    assert list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_fields_set == slow.model_fields_set
    assert repr(fast) == repr(slow)
    assert hash(fast) == hash(slow)
    assert fast.id.version == 5 and fast.id == uuid.UUID(str(slow.id))
    assert fast.id.is_safe == slow.id.is_safe
    assert pickle.loads(pickle.dumps(fast)) == slow
    assert copy.deepcopy(fast) == slow
    assert CrossingEvent.model_validate_json(fast.model_dump_json()) == fast


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(lines(0), lines(1), lines(2)),
    names,
    st.sampled_from(["", "recount-7", "r|x"]),
    names,
    st.lists(crossings, min_size=1, max_size=20),
)
def test_fast_events_equal_validated_ones(three, camera_id, run, version, cases):
    fast = CrossingEvents(three, camera_id=camera_id, run=run, config_version=version)
    for line, track_id, inward, seq, at in cases:
        for _ in range(2):  # the first of each line and direction is validated
            assert_same_event(
                fast.event(line, track_id, inward, seq, at),
                crossing_event(
                    three[line], track_id, inward, seq, at,
                    camera_id=camera_id, run=run, config_version=version,
                ),
            )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(names, names, st.integers(0, 2**40), st.integers(0, 2**40), crossings)
def test_fast_ids_are_crossing_ids(camera_id, line_id, track_id, seq, case):
    at = case[-1]
    line = LineConfig(
        id=line_id, camera_id="cam", points=((0.0, 0.0), (1.0, 1.0)), from_zone="a", to_zone="b"
    )
    fast = CrossingEvents([line], camera_id=camera_id, run="", config_version="v")
    fast.event(0, 0, True, 0, 0.0)  # past the validated first event
    event = fast.event(0, track_id, True, seq, at)
    assert event is not None
    expected = crossing_id(camera_id, line_id, track_id, seq, at)
    assert event.id == expected
    micros = round(at * 1_000_000)
    assert expected == uuid.uuid5(
        EVENT_NAMESPACE, f"crossing||{camera_id}|{line_id}|{track_id}|{seq}|{micros}"
    )


def test_an_invalid_configuration_still_fails_at_the_first_event():
    line = LineConfig(
        id="door", camera_id="cam", points=((0.0, 0.0), (1.0, 1.0)), from_zone="a", to_zone="b"
    )
    fast = CrossingEvents([line], camera_id="cam", run="", config_version="")
    with pytest.raises(ValueError, match="config_version"):
        fast.event(0, 1, True, 1, 1.0)
