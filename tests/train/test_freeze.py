import pytest
import torch

from areoscan.data.samples import load_source
from areoscan.errors import DataError
from areoscan.models.card import ModelCard
from areoscan.models.registry import build_module
from areoscan.train.classifier import ClassifierTrainConfig, train_classifier
from areoscan.train.freeze import freeze_stages
from areoscan.train.loop import FitConfig


def _card(arch="mobilenetv3_small", **kw):
    return ModelCard(
        name="m", task="classification", arch=arch, classes=["a", "b"], tile_size=32, **kw
    )


def test_frozen_stages_keep_weights_and_batchnorm_statistics_through_a_train_step():
    torch.manual_seed(0)
    module = build_module(_card())
    info, handle = freeze_stages(module, 2)
    assert 0 < info["parameters_frozen"] < info["parameters_total"]
    frozen = [module.backbone.conv_stem, module.backbone.bn1, *module.backbone.blocks[:2]]
    before = {k: v.clone() for k, v in module.state_dict().items()}
    opt = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.1)
    module.train()
    loss = module(torch.rand(4, 1, 32, 32)).sum()
    loss.backward()
    opt.step()
    assert all(not m.training for m in frozen) and module.backbone.blocks[2].training
    after = module.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any(
        k.startswith(("backbone.conv_stem", "backbone.bn1")) for k in changed
    )
    assert not any(k.startswith(("backbone.blocks.0.", "backbone.blocks.1.")) for k in changed)
    handle.remove()
    module.train()
    assert module.backbone.bn1.training


def test_a_backbone_without_stages_or_too_many_stages_is_a_one_line_error():
    with pytest.raises(DataError, match="no stages"):
        freeze_stages(build_module(_card("small_cnn", arch_kwargs={"widths": [8, 16]})), 1)
    with pytest.raises(DataError, match="must be 1..6"):
        freeze_stages(build_module(_card()), 7)


def test_training_with_frozen_stages_is_recorded_in_the_card(class_folders):
    data = load_source(str(class_folders), 32)
    cfg = ClassifierTrainConfig(
        name="tiny",
        size=32,
        batch_size=8,
        steps_per_epoch=2,
        seed=1,
        threads=1,
        fractions=(0.5, 0.25, 0.25),
        freeze_stages=3,
        fit=FitConfig(epochs=1, progress=False, log=False),
    )
    out = train_classifier(data, cfg)
    assert out.card.training["frozen"]["stages"] == 3
    assert out.card.training["config"]["freeze_stages"] == 3
    assert all(p.requires_grad is False for p in out.module.backbone.blocks[0].parameters())
