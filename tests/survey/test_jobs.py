import pytest

from areoscan.errors import DataError
from areoscan.survey.jobs import (
    Job,
    Selection,
    lon_ranges_overlap,
    pds_product_path,
    target_latitude,
)


def test_pds_product_path_and_target_latitude():
    assert pds_product_path("ESP_011277_1825") == (
        "RDR/ESP/ORB_011200_011299/ESP_011277_1825/ESP_011277_1825_RED.JP2"
    )
    assert pds_product_path("PSP_001999_2050").startswith("RDR/PSP/ORB_001900_001999/")
    assert target_latitude("ESP_011277_1825") == pytest.approx(2.5)
    assert target_latitude("ESP_022699_0985") == pytest.approx(-81.5)


@pytest.mark.parametrize(
    "box, image, expected",
    [
        ((10, 20), (15, 16), True),
        ((10, 20), (21, 22), False),
        ((-10, 10), (355, 356), True),  # -180..180 box against a 0..360 image
        ((-10, 10), (180, 181), False),
        ((350, 10), (5, 6), True),  # box across the seam written 350 -> 10
        ((20, 30), (359.9, 0.1), False),  # image across the seam
        ((-1, 1), (359.9, 0.1), True),
        ((-180, 180), (123, 124), True),
    ],
)
def test_longitude_overlap(box, image, expected):
    assert lon_ranges_overlap(box, image) is expected


def test_selection_accepts_by_bounds_centre_and_scale():
    sel = Selection(bbox=(30, 50, -20, 20), max_scale=0.5)
    inside = Job("ESP_011277_2200", "u", True, lat=40, lon=355, scale=0.25)
    assert sel.accepts(inside)
    assert not sel.accepts(Job("ESP_011277_2200", "u", True, lat=40, lon=355, scale=1.0))
    assert not sel.accepts(Job("ESP_011277_2200", "u", True, lat=60, lon=355, scale=0.25))
    edge = Job("ESP_011277_2200", "u", True, scale=0.25, bounds=(49.9, 50.2, 19.9, 20.1))
    assert sel.accepts(edge)
    assert not sel.accepts(Job("ESP_011277_2200", "u", True))  # location unknown
    assert Selection().accepts(Job("ESP_011277_2200", "u", True))


def test_selection_validates():
    with pytest.raises(DataError, match="LAT0 <= LAT1"):
        Selection(bbox=(50, 30, 0, 10))
    with pytest.raises(DataError, match="max-scale"):
        Selection(max_scale=0)
