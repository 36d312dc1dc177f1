import json

import pytest

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard, sha256_lines


def _card(**kw):
    base = dict(name="m", task="classification", arch="small_cnn", classes=["a", "b"], tile_size=32)
    base.update(kw)
    return ModelCard(**base)


def test_roundtrip_json(tmp_path):
    card = _card(
        threshold=0.4, positive_class="b", metrics={"f1": 0.5}, level=2, scale_m_per_px=1.0
    )
    path = card.save(tmp_path / "m.json")
    back = ModelCard.load(path)
    assert back == card
    assert json.loads(path.read_text())["classes"] == ["a", "b"]
    assert back.n_classes == 2


@pytest.mark.parametrize(
    "kw",
    [
        {"task": "tracking"},
        {"mode": "wavelet"},
        {"classes": []},
        {"classes": ["a", "a"]},
        {"mode": "dct", "tile_size": 36},
        {"positive_class": "c"},
        {"name": "a/b"},
    ],
)
def test_invalid_fields_raise(kw):
    with pytest.raises(ModelError):
        _card(**kw)


def test_load_rejects_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelCard.load(tmp_path / "bad.json")
    (tmp_path / "extra.json").write_text(json.dumps({**_card().to_dict(), "colour": 1}))
    with pytest.raises(ModelError, match="unknown keys"):
        ModelCard.load(tmp_path / "extra.json")
    d = _card().to_dict()
    del d["classes"]
    (tmp_path / "missing.json").write_text(json.dumps(d))
    with pytest.raises(ModelError, match="missing keys"):
        ModelCard.load(tmp_path / "missing.json")
    with pytest.raises(ModelError, match="cannot read"):
        ModelCard.load(tmp_path / "absent.json")


def test_manifest_hash_is_order_free():
    assert sha256_lines(["b", "a"]) == sha256_lines(["a", "b"]) != sha256_lines(["a"])
