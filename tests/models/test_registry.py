import pytest
import torch
from torch import nn

from areoscan.errors import ModelError
from areoscan.models import registry
from areoscan.models.card import ModelCard


@registry.register_builder("classification", "test_linear")
def _build(card: ModelCard) -> nn.Module:
    width = card.arch_kwargs.get("width", 4)
    return nn.Sequential(
        nn.Conv2d(card.in_channels, width, 3, padding=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, card.n_classes),
    )


def _card(name="tiny", **kw):
    return ModelCard(
        name=name, task="classification", arch="test_linear", classes=["a", "b"], tile_size=16, **kw
    )


def _saved(tmp_path, name="tiny", **kw):
    torch.manual_seed(0)
    card = _card(name, **kw)
    module = registry.build_module(card)
    wpath, cpath = registry.save_model(module, card, tmp_path)
    return module, card, wpath, cpath


def test_save_load_roundtrip_by_dir_json_and_weights(tmp_path):
    module, card, wpath, cpath = _saved(tmp_path, arch_kwargs={"width": 6})
    assert wpath.name == "tiny.safetensors" and cpath.name == "tiny.json"
    assert len(card.weights_sha256) == 64
    x = torch.rand(3, 1, 16, 16)
    expect = module.eval()(x)
    for ref in (tmp_path, cpath, wpath, str(cpath)):
        loaded, back = registry.load_model(ref)
        assert back.arch_kwargs == {"width": 6}
        assert not loaded.training
        assert torch.allclose(loaded(x), expect)
    assert not list(tmp_path.glob("*.tmp"))


def test_tampered_weights_are_refused(tmp_path):
    _, _, wpath, _ = _saved(tmp_path)
    data = bytearray(wpath.read_bytes())
    data[-1] ^= 0xFF
    wpath.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card"):
        registry.load_model(tmp_path)


def test_not_safetensors_is_refused(tmp_path):
    _, card, wpath, cpath = _saved(tmp_path)
    wpath.write_bytes(b"\x80\x04pickle-ish garbage")
    with pytest.raises(ModelError, match="does not match"):
        registry.load_model(cpath)
    with pytest.raises(ModelError, match="not a readable safetensors"):
        registry.load_model(cpath, verify=False)


def test_weights_of_another_shape_are_refused(tmp_path):
    _saved(tmp_path, arch_kwargs={"width": 4})
    card = _card(arch_kwargs={"width": 8})
    card.weights_sha256 = registry.ModelCard.load(tmp_path / "tiny.json").weights_sha256
    card.save(tmp_path / "tiny.json")
    with pytest.raises(ModelError, match="do not fit"):
        registry.load_model(tmp_path / "tiny.json")


def test_bad_names_give_one_line_errors(tmp_path):
    with pytest.raises(ModelError, match="no such model") as exc:
        registry.load_model("no-such-model-name")
    assert "\n" not in str(exc.value)
    with pytest.raises(ModelError, match="not found"):
        registry.load_model(tmp_path / "absent.json")
    with pytest.raises(ModelError, match="exactly one model"):
        registry.load_model(tmp_path)  # empty directory
    card = _card()
    card.arch = "nope"
    with pytest.raises(ModelError, match="unknown classification architecture"):
        registry.build_module(card)


def test_registered_pair_is_listed():
    assert ("classification", "test_linear") in registry.known_architectures("classification")
