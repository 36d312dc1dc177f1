import pytest

from areoscan.synth.classes import BACKGROUNDS, EXTRA_KINDS, NODATA, Terrain, class_table


def test_ids_are_small_and_nodata_is_not_a_class():
    assert [int(t) for t in Terrain] == list(range(1, 13))
    assert NODATA == 255 and NODATA not in [int(t) for t in Terrain]
    assert Terrain.BRAIN_CORAL not in BACKGROUNDS


def test_tars_and_other_hard_negatives_are_opt_in_so_default_scenes_keep_their_mix():
    assert EXTRA_KINDS[:4] == (Terrain.TARS, Terrain.KNOBBY, Terrain.LAYERED, Terrain.RIPPLES)
    assert Terrain.RIM_POLYGONS in EXTRA_KINDS
    assert not set(EXTRA_KINDS) & set(BACKGROUNDS)
    assert Terrain.parse("tars") is Terrain.TARS


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
    assert table["tars"] == 8 and table["ripples"] == 11 and len(table) == 13
