import pytest

from areoscan.synth.classes import BACKGROUNDS, NODATA, Terrain, class_table


def test_ids_are_small_and_nodata_is_not_a_class():
    assert [int(t) for t in Terrain] == [1, 2, 3, 4, 5, 6, 7]
    assert NODATA == 255 and NODATA not in [int(t) for t in Terrain]
    assert Terrain.BRAIN_CORAL not in BACKGROUNDS


@pytest.mark.parametrize(
    "text", ["brain_coral", "Brain-Coral", "coral", "1", 1, Terrain.BRAIN_CORAL]
)
def test_parse_accepts_names_ids_and_aliases(text):
    assert Terrain.parse(text) is Terrain.BRAIN_CORAL


def test_parse_rejects_unknown_names():
    with pytest.raises(KeyError):
        Terrain.parse("glaciers")


def test_class_table_names_every_kind_and_nodata():
    table = class_table()
    assert table["brain_coral"] == 1 and table["boulders"] == 7 and table["nodata"] == 255
    assert len(table) == 8
