import pytest

from streams.geometry import anchor_point, segments_intersect, signed_distance

LINE = (0.0, 100.0, 200.0, 100.0)  # horizontal, drawn left to right


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [
        ((50, 50), (50, 150), True),  # straight across
        ((50, 150), (50, 50), True),  # across the other way
        ((0, 50), (200, 150), True),  # diagonal through the middle
        ((50, 50), (50, 100), True),  # ends exactly on the line (touching counts)
        ((50, 50), (50, 99), False),  # stops just short
        ((250, 50), (250, 150), False),  # beyond the end of the segment
        ((-10, 50), (-10, 150), False),  # before the start
        ((10, 100), (190, 100), True),  # walking along the line, on it
        ((10, 90), (190, 90), False),  # walking along the line, beside it
        ((200, 50), (200, 150), True),  # through the end point
    ],
)
def test_segments_intersect(p, q, expected):
    assert segments_intersect(*p, *q, *LINE) is expected


@pytest.mark.parametrize(
    ("point", "expected"),
    [((50, 150), 50.0), ((50, 50), -50.0), ((123, 100), 0.0), ((-40, 103), 3.0)],
)
def test_signed_distance_is_positive_below_a_left_to_right_line(point, expected):
    assert signed_distance(*LINE, *point) == pytest.approx(expected)


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
