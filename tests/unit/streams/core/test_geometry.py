import math

import pytest

from streams.core.geometry import (
    anchor_point,
    orient,
    segment_distance,
    segments_intersect,
    signed_distance,
)

LINE = (0.0, 100.0, 200.0, 100.0)  # horizontal, drawn left to right


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [
        ((50, 50), (50, 150), True),  # straight across
        ((50, 150), (50, 50), True),  # across the other way
        ((0, 50), (200, 150), True),  # diagonal through the middle
        ((50, 50), (50, 100), True),  # ends exactly on the line (touching counts)
        ((50, 100), (50, 150), True),  # starts exactly on the line
        ((50, 50), (50, 99), False),  # stops just short
        ((50, 50), (50, 99.999), False),  # a hair short is still short
        ((250, 50), (250, 150), False),  # beyond the end of the segment
        ((-10, 50), (-10, 150), False),  # before the start
        ((10, 100), (190, 100), True),  # walking along the line, on it
        ((-50, 100), (-10, 100), False),  # on its extension, but off the segment
        ((-50, 100), (0, 100), True),  # on its extension up to the start point
        ((150, 100), (250, 100), True),  # overlapping its end
        ((10, 90), (190, 90), False),  # walking along the line, beside it
        ((200, 50), (200, 150), True),  # through the end point
        ((-50, 0), (50, 200), True),  # steep, across near the start
        ((210, 0), (300, 150), False),  # steep, missing the end
        ((50, 50), (50, 50), False),  # standing still off the line
        ((50, 100), (50, 100), True),  # standing still on it
    ],
)
def test_segments_intersect(p, q, expected):
    assert segments_intersect(*p, *q, *LINE) is expected
    assert segments_intersect(*q, *p, *LINE) is expected  # the path's direction is irrelevant


@pytest.mark.parametrize(
    ("point", "expected"),
    [((50, 150), 50.0), ((50, 50), -50.0), ((123, 100), 0.0), ((-40, 103), 3.0)],
)
def test_signed_distance_is_positive_below_a_left_to_right_line(point, expected):
    assert signed_distance(*LINE, *point) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("line", "point", "expected"),
    [
        ((200.0, 100.0, 0.0, 100.0), (50, 150), -50.0),  # drawn right to left: sides swap
        ((100.0, 0.0, 100.0, 200.0), (50, 50), 50.0),  # drawn downwards: "in" is to the left
        ((0.0, 0.0, 100.0, 100.0), (0, 100), 100 / math.sqrt(2)),  # diagonal
    ],
)
def test_signed_distance_follows_the_point_order(line, point, expected):
    assert signed_distance(*line, *point) == pytest.approx(expected)


def test_orient_is_signed_distance_times_length():
    assert orient(*LINE, 50, 150) == 50.0 * 200.0
    assert orient(*LINE, 50, 100) == 0.0


@pytest.mark.parametrize(
    ("point", "expected"),
    [((100, 130), 30.0), ((-30, 140), 50.0), ((230, 60), 50.0), ((0, 100), 0.0)],
)
def test_segment_distance_measures_to_the_segment_not_the_line(point, expected):
    assert segment_distance(*LINE, *point) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        ("bottom_center", (20.0, 40.0)),
        ("center", (20.0, 25.0)),
        ("top_center", (20.0, 10.0)),
        ("bottom_left", (10.0, 40.0)),
        ("bottom_right", (30.0, 40.0)),
    ],
)
def test_anchor_point(anchor, expected):
    assert anchor_point((10.0, 10.0, 30.0, 40.0), anchor) == expected
