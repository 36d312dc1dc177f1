"""The one observation-id pattern: found in names, checked when it comes from outside."""

import pytest

from areoscan.errors import DataError
from areoscan.io.obsid import check_observation_id, find_observation_id, observation_id_from_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ESP_011277_1825_RED.JP2", "ESP_011277_1825"),
        ("h0_esp_011277_1825.png", "ESP_011277_1825"),  # any case, upper-cased
        ("PSP_001234_2050_RED_A_01_ORTHO", "PSP_001234_2050"),
        ("TRA_000826_1825_crop3.jpg", "TRA_000826_1825"),
        ("CAL_000000_0000", "CAL_000000_0000"),  # any three-letter phase
        ("ESP_011277_1825-ESP_011278_1825", "ESP_011277_1825"),  # the first one
        ("ESP_11277_1825.png", None),  # orbit has six digits
        ("ESP-011277-1825", None),
        ("tile_0042.png", None),
        ("", None),
    ],
)
def test_find_observation_id(text, expected):
    assert find_observation_id(text) == expected


def test_observation_ids():
    assert check_observation_id(" esp_011277_1825 ") == "ESP_011277_1825"
    assert check_observation_id("PSP_001234_2050") == "PSP_001234_2050"
    for bad in [
        "ESP_11277_1825",
        "../ESP_011277_1825",
        "ESP_011277_1825/..",
        "",
        "ESP-011277-1825",
    ]:
        with pytest.raises(DataError, match="not a HiRISE observation id"):
            check_observation_id(bad)


def test_product_names():
    assert observation_id_from_name("ESP_011277_1825_RED.JP2") == "ESP_011277_1825"
    assert observation_id_from_name("esp_011277_1825_red.jp2") == "ESP_011277_1825"
    for bad in ["ESP_011277_1825_COLOR.JP2", "../ESP_011277_1825_RED.JP2", "x_RED.JP2"]:
        with pytest.raises(DataError):
            observation_id_from_name(bad)
