"""Dwell time, first in first out, against a direct simulation of people."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.core.dwell import DwellStats, ZoneChange, dwell_stats


def folded(events: list[tuple[float, int]], inside: int = 0) -> list[ZoneChange]:
    """Changes as the sink stores them: who entered or left with each crossing."""
    out = []
    for at, step in events:
        inside = inside + 1 if step > 0 else max(0, inside - 1)
        out.append(ZoneChange(at, int(step > 0), int(step < 0), inside, "crossing"))
    return out


def test_three_people_first_in_first_out() -> None:
    # In at 0, 10, 20; out at 30, 35, 100: stays 30, 25, 80.
    changes = folded([(0, 1), (10, 1), (20, 1), (30, -1), (35, -1), (100, -1)])
    assert dwell_stats(0, changes, end=100) == DwellStats(3, 45.0, 30.0, 80.0, 0)


def test_people_inside_before_the_range_are_matched_first_but_not_measured() -> None:
    changes = folded([(0, 1), (10, -1), (20, -1), (40, -1)], inside=2)
    # Two inside before, entry times unknown: the exits at 10 and 20 are theirs;
    # the one in at 0 leaves at 40.
    assert dwell_stats(2, changes, end=50) == DwellStats(1, 40.0, 40.0, 40.0, 0)


def test_still_inside_at_the_end_and_an_exit_from_an_empty_zone() -> None:
    changes = folded([(0, -1), (5, 1), (6, 1), (9, -1)])
    assert dwell_stats(0, changes, end=10) == DwellStats(1, 4.0, 4.0, 4.0, 1)


def test_a_reset_forgets_everyone_and_a_calibration_adjusts_the_queue() -> None:
    changes = [
        *folded([(0, 1), (1, 1), (2, 1)]),
        ZoneChange(3, 0, 0, 1, "calibration"),  # two left unseen: the two at the front
        ZoneChange(4, 1, 0, 2, "crossing"),  # in at 4
        ZoneChange(6, 0, 1, 1, "crossing"),  # out: the one in at 2 (stay 4)
        ZoneChange(7, 0, 0, 3, "calibration"),  # two more came in unseen
        ZoneChange(8, 0, 1, 2, "crossing"),  # out: the one in at 4 (stay 4)
        ZoneChange(9, 0, 0, 0, "reset"),
        ZoneChange(10, 1, 0, 1, "crossing"),
        ZoneChange(12, 0, 1, 0, "crossing"),  # stay 2
    ]
    assert dwell_stats(0, changes, end=12) == DwellStats(3, 10 / 3, 4.0, 4.0, 0)


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 500)), max_size=40))
def test_the_average_is_exact_for_any_exit_order(visits: list[tuple[int, int]]) -> None:
    # People with real stays, leaving in any order; the counts only see entries and exits.
    events = sorted(
        [(float(t), 1) for t, _ in visits] + [(float(t + d), -1) for t, d in visits],
        key=lambda e: (e[0], -e[1]),
    )  # at the same instant: in before out
    stats = dwell_stats(0, folded(events), end=2000)
    assert stats.visits == len(visits) and stats.still_inside == 0
    if visits:
        true_mean = sum(d for _, d in visits) / len(visits)
        assert abs(stats.average_s - true_mean) < 1e-6  # type: ignore[operator]
        assert stats.max_s <= max(t + d for t, d in visits) - min(t for t, _ in visits)
