"""The segmenter training loop on a toy texture task: phases run, the model learns, runs repeat."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from areoscan.data.seg_samples import IGNORE_INDEX, SegSet
from areoscan.train.seg_augment import augment_batch
from areoscan.train.segmenter import (
    SegTrainConfig,
    labels_from_probs,
    predict_probs,
    train_segmenter,
    tune_threshold,
)


def toy_set(n: int, seed: int, size: int = 64) -> SegSet:
    """Striped 'coral' rectangles on a smooth noisy background; the class is texture, not brightness."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.empty((n, size, size), np.float32)
    targets = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        base = 0.5 + 0.1 * np.sin(xx / 40 + rng.uniform(0, 6)) + rng.normal(0, 0.01, (size, size))
        r0, c0 = rng.integers(0, size // 2, 2)
        h, w = rng.integers(size // 4, size // 2, 2)
        box = (yy >= r0) & (yy < r0 + h) & (xx >= c0) & (xx < c0 + w)
        stripes = 0.15 * np.sin((xx + yy) * 2 * np.pi / 6)
        images[i] = np.clip(base + np.where(box, stripes, 0), 0.01, 1)
        targets[i] = box
        targets[i, :2] = IGNORE_INDEX
    return SegSet(images, targets, [f"o{i % 5}" for i in range(n)], ["toy"] * n)


def test_augment_keeps_image_and_target_aligned() -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((4, 8, 8), np.float32)
    x[:, :3, :2] = 0.9
    x[x == 0] = 0.1
    y = (x > 0.5).astype(np.uint8)
    xa, ya = augment_batch(x, y, rng)
    assert xa.shape == x.shape and ya.dtype == np.uint8
    for i in range(4):
        assert np.array_equal(xa[i] > 0.5, ya[i] == 1)


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["three", "one"])
def test_training_learns_texture_and_is_reproducible(schedule: str) -> None:
    train, val = toy_set(48, 0), toy_set(16, 1)
    cfg = SegTrainConfig(
        arch="slim-unet",
        arch_kwargs={"encoder": "mobilenetv3_small_050"},
        loss="dice+focal",
        schedule=schedule,
        epochs=6,
        lr=3e-3,
        batch_size=8,
        seed=1,
    )
    model, hist = train_segmenter(train, val, cfg, progress=False, log=False)
    phases = [row["phase"] for row in hist["epochs"]]
    if schedule == "three":
        assert phases == ["encoder"] * 2 + ["decoder"] * 2 + ["finetune"] * 2
    else:
        assert phases == ["all"] * 6
    assert 0.2 <= hist["threshold"] <= 0.8
    assert hist["best_val_iou"] > 0.4, hist
    probs = predict_probs(model, val.images)
    assert probs.shape == (16, 1, 64, 64)
    again, hist2 = train_segmenter(train, val, cfg, progress=False, log=False)
    assert hist2["epochs"][-1]["loss"] == hist["epochs"][-1]["loss"]
    with torch.no_grad():
        x = torch.from_numpy(val.images[:2, None])
        assert torch.allclose(model(x), again(x), atol=1e-5)


def test_tune_threshold_picks_the_best() -> None:
    targets = np.array([[[0, 1, 1, IGNORE_INDEX]]], np.uint8)
    probs = np.array([[[[0.35, 0.45, 0.9, 0.1]]]], np.float32)
    t, iou = tune_threshold(targets, probs)
    assert 0.35 < t <= 0.45 and iou == 1.0
    assert labels_from_probs(probs, t).tolist() == [[[0, 1, 1, 0]]]


def test_init_starts_from_another_models_weights(tmp_path) -> None:
    from areoscan.models import ModelCard, save_model
    from areoscan.models.segmenters import build_segmenter, segmenter_kwargs

    kwargs = segmenter_kwargs("slim-unet", encoder="mobilenetv3_small_050")
    torch.manual_seed(5)
    source = build_segmenter("slim-unet", **{**kwargs, "classes": 1}).eval()
    card = ModelCard(name="src-unet", task="segmentation", arch="slim-unet",
                     classes=["background", "brain_coral"], tile_size=64, level=0,
                     scale_m_per_px=0.25, threshold=0.5, positive_class="brain_coral",
                     arch_kwargs={**kwargs, "classes": 1})  # fmt: skip
    _, path = save_model(source, card, tmp_path / "src")
    train, val = toy_set(8, 0), toy_set(8, 1)
    cfg = SegTrainConfig(arch="slim-unet", arch_kwargs={"encoder": "mobilenetv3_small_050"},
                         schedule="one", epochs=1, lr=1e-12, batch_size=8, augment=False,
                         init=str(path))  # fmt: skip
    model, hist = train_segmenter(train, val, cfg, progress=False, log=False)
    assert hist["init"]["model"] == "src-unet"
    assert hist["init"]["tensors_copied"] == hist["init"]["tensors_total"]
    # lr ~0: every parameter is still the source's (BatchNorm running statistics aside)
    mine = dict(model.named_parameters())
    for name, value in source.named_parameters():
        assert torch.allclose(mine[name], value, atol=1e-8), name


def test_coarsen_tile_removes_detail_finer_than_the_product_and_keeps_nodata() -> None:
    from areoscan.train.seg_augment import coarsen_batch, coarsen_tile

    cols = np.arange(64)
    fine = np.tile(np.where(cols % 2 == 0, 0.3, 0.7), (64, 1)).astype(np.float32)  # 2-px period
    broad = np.tile(0.3 + 0.4 * (cols // 16 % 2), (64, 1)).astype(np.float32)  # 32-px period
    fine[:8] = 0.0  # no data
    out = coarsen_tile(fine, 4.0)
    assert out.shape == fine.shape and out.dtype == np.float32
    assert (out[:8] == 0).all() and (out[8:] > 0).all()
    assert out[16:48, 8:56].std() < 0.1 * fine[16:48, 8:56].std()  # the 2-px ridges average out
    kept = coarsen_tile(broad, 2.0)
    assert np.abs(kept - broad)[:, 20:28].max() < 0.05  # a 32-px pattern survives a bin-2 product
    rng = np.random.default_rng(0)
    batch = np.stack([broad] * 6)
    assert coarsen_batch(batch, 0.0, rng) is batch  # off: untouched, no random draw
    changed = [not np.array_equal(a, broad) for a in coarsen_batch(batch, 1.0, rng)]
    assert all(changed)


def test_calibrate_segmenter_undoes_an_overconfident_model_and_keeps_its_decisions() -> None:
    from areoscan.models.calibration import calibrate_logits
    from areoscan.train.seg_calibrate import calibrate_segmenter, pixel_sample

    class Overconfident(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 20.0 * (x - 0.5)  # true log-odds are 4 * (x - 0.5): five times too sure

    rng = np.random.default_rng(0)
    images = rng.uniform(0.01, 1.0, (6, 32, 32)).astype(np.float32)
    truth = rng.random(images.shape) < 1 / (1 + np.exp(-4.0 * (images - 0.5)))
    targets = truth.astype(np.uint8)
    targets[:, :4] = IGNORE_INDEX  # no data: never scored
    val = SegSet(images, targets, [f"o{i}" for i in range(6)], ["toy"] * 6)
    cal, threshold = calibrate_segmenter(Overconfident(), val, threshold=0.6)
    assert cal["method"] == "temperature" and cal["temperature"] == pytest.approx(5.0, rel=0.15)
    assert cal["ece_after"] < cal["ece_before"] and cal["n"] == 6 * 28 * 32
    z = 20.0 * (images - 0.5)
    raw = 1 / (1 + np.exp(-z)) >= 0.6
    calibrated = 1 / (1 + np.exp(-calibrate_logits(z, cal))) >= threshold
    assert np.array_equal(raw, calibrated)  # the same pixels pass the moved threshold
    zs, ys = pixel_sample(z[:, None], targets, max_pixels=100)
    assert zs.shape == (100, 1) and set(np.unique(ys)) <= {0, 1}
