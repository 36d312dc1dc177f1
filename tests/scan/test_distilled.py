"""A distilled decoder (shipped U-Net encoder + light decoder) scans through the model seam."""

from __future__ import annotations

import json

import numpy as np
import torch

from areoscan.cli import main
from areoscan.distill.decoder_card import _encoder_facts, _full_module
from areoscan.distill.encoders import UnetEncoder
from areoscan.models import ModelCard, save_model
from areoscan.models.lightdecoder import LightDecoder


def _decoder(bias: float = 0.0) -> LightDecoder:
    torch.manual_seed(0)
    net = LightDecoder(624, 1).eval()
    with torch.no_grad():
        net.head.bias.fill_(bias)
    return net


def test_scan_module_equals_the_embedding_path():
    net = _decoder()
    full = _full_module(net, "brain-coral-unet", _encoder_facts("brain-coral-unet"))
    image = (np.random.default_rng(0).random((128, 128)) * 200 + 20).astype(np.uint8)
    emb = UnetEncoder(input_size=128).embed(image)  # what training and suggest see (float16)
    with torch.no_grad():
        small = net(torch.from_numpy(emb.astype(np.float32))[None])
        ref = torch.nn.functional.interpolate(small, size=(128, 128), mode="bilinear")
        got = full(torch.from_numpy(image.astype(np.float32) / 255)[None, None])
    assert got.shape == (1, 1, 128, 128)
    assert torch.allclose(got, ref, atol=2e-2)


def test_scan_runs_a_distilled_decoder(patch_scene, test_models, tmp_path, capsys):
    path, _ = patch_scene
    screen, _ = test_models
    facts = _encoder_facts("brain-coral-unet")
    card = ModelCard(
        name="pits-decoder",
        task="segmentation",
        arch="distilled-unet",
        classes=["background", "pit"],
        tile_size=128,
        scale_m_per_px=0.25,
        threshold=0.5,
        positive_class="pit",
        arch_kwargs={"in_channels": 624, "classes": 1, "widths": [128, 64, 32],
                     "timm_encoder": facts["timm_encoder"], "norm": facts["norm"],
                     "encoder": "brain-coral-unet", "input_size": 128, "grid": 8},
    )  # fmt: skip
    _, seg = save_model(_full_module(_decoder(bias=8.0), "brain-coral-unet", facts), card, tmp_path)
    code = main(["scan", str(path), "--out", str(tmp_path / "o"), "--screen-model", str(screen),
                 "--segment-model", str(seg), "--backend", "torch", "--fast", "--quiet", "--json"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["regions"] >= 1  # a decoder sure of 'pit' everywhere maps the flagged tiles
