"""Tiny generated tile data sets for the training tests (no ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def texture(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 tile: kind 0 = smooth blobs, 1 = fine stripes (orientation random), 2 = checker."""
    y, x = np.mgrid[0:size, 0:size] / size
    if kind == 0:
        img = np.sin(2 * np.pi * (x * rng.uniform(0.5, 1.5) + rng.random())) * np.cos(
            2 * np.pi * y * rng.uniform(0.5, 1.5)
        )
    elif kind == 1:
        a = rng.uniform(0, np.pi)
        img = np.sin(2 * np.pi * 8 * (x * np.cos(a) + y * np.sin(a)) + rng.random() * 6)
    else:
        img = np.sign(np.sin(2 * np.pi * 4 * x + rng.random()) * np.sin(2 * np.pi * 4 * y))
    img = img + rng.normal(0, 0.2, img.shape)
    return np.clip(110 + 50 * img, 1, 255).astype(np.uint8)


@pytest.fixture
def class_folders(tmp_path):
    """root/<class>/<OBS>_<i>.png with 3 classes, 4 observations per class, 4 tiles each."""
    rng = np.random.default_rng(0)
    root = tmp_path / "tiles"
    for k, name in enumerate(["blobs", "stripes", "checker"]):
        (root / name).mkdir(parents=True)
        for obs in range(4):
            for i in range(4):
                oid = f"ESP_{100000 + 10 * k + obs:06d}_1825"
                Image.fromarray(texture(k, 40, rng)).save(root / name / f"{oid}_RED-{i:04d}.png")
    return root


@pytest.fixture
def landmarks_v3(tmp_path):
    """A miniature landmark v3 folder with rotated and brightness variants."""
    rng = np.random.default_rng(1)
    root = tmp_path / "v3"
    (root / "images").mkdir(parents=True)
    (root / "classmap.csv").write_text("0,other\n1,crater\n2,dark dune\n")
    rows = ["file,landmark_id,variant,class_id,class_name,source_image"]
    variants = ["orig", "r90", "r180", "r270", "fh", "fv", "brt"]
    originals = {}
    n = 0
    for obs in range(6):
        src = f"ESP_{20000 + obs:06d}_1900"
        for j in range(4):
            cls = (obs + j) % 3
            lid = f"{src}_RED-{j:04d}"
            img = texture(cls, 36, rng)
            img[:4, :8] = 250  # an asymmetric mark to check undoing the variants
            originals[lid] = img
            v = variants[n % len(variants)]
            n += 1
            stored = {
                "orig": img,
                "r90": np.rot90(img, -1),
                "r180": np.rot90(img, 2),
                "r270": np.rot90(img, -3),
                "fh": img[:, ::-1],
                "fv": img[::-1],
                "brt": np.clip(img.astype(int) + 20, 0, 255).astype(np.uint8),
            }[v]
            name = f"{lid}-{v}.png" if v != "orig" else f"{lid}.png"
            Image.fromarray(np.ascontiguousarray(stored)).save(root / "images" / name)
            rows.append(f"{name},{lid},{v},{cls},{['other', 'crater', 'dark dune'][cls]},{src}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root, originals


def _blob_detector_type() -> type:
    """The class of :func:`blob_detector`'s models (torch imported only by the tests that use it)."""
    import torch
    from scipy import ndimage as ndi
    from torch import nn

    class BlobDetector(nn.Module):
        """torchvision's detection interface: one instance (class 1, score = its brightest pixel)
        per 8-connected patch brighter than 0.6; masks too when ``masks``."""

        def __init__(self, masks: bool) -> None:
            super().__init__()
            self.masks = masks
            self.unused = nn.Parameter(torch.zeros(1))  # save_model needs a tensor

        def forward(self, images: list) -> list:
            out = []
            for im in images:
                x = im[0].numpy()
                lab, n = ndi.label(x > 0.6, structure=np.ones((3, 3)))
                boxes, scores, masks = [], [], []
                for k, sl in enumerate(ndi.find_objects(lab), start=1):
                    boxes.append([sl[1].start, sl[0].start, sl[1].stop, sl[0].stop])
                    scores.append(float(x[sl].max()))
                    masks.append((lab == k)[None].astype(np.float32))
                res = {
                    "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                    "scores": torch.tensor(scores, dtype=torch.float32),
                    "labels": torch.ones(n, dtype=torch.int64),
                }
                if self.masks:
                    stack = np.stack(masks) if masks else np.zeros((0, 1, *x.shape), np.float32)
                    res["masks"] = torch.from_numpy(stack)
                out.append(res)
            return out

    return BlobDetector


@pytest.fixture(scope="session")
def blob_detector():
    """``save(root, masks=False, tile=256, scale=0.25) -> card path``: a transparent stand-in for a
    trained detector (scan and survey tests). It has torchvision's detection interface and boxes
    every 8-connected patch brighter than 0.6 (class ``pit``, score = its brightest pixel; with
    ``masks``, the patch is the mask), so where it must find each object is known exactly."""
    from areoscan.models import ModelCard, register_builder, save_model

    kind = _blob_detector_type()
    archs = ("test-blobs", "test-blobmasks")
    for masks, arch in enumerate(archs):
        register_builder("detection", arch)(lambda card, m=bool(masks): kind(m))

    def save(root, masks: bool = False, tile: int = 256, scale: float = 0.25):
        arch = archs[int(masks)]
        card = ModelCard(name=f"test-{arch}", task="detection", arch=arch, classes=["pit"],
                         tile_size=tile, level=0, scale_m_per_px=scale, threshold=0.5,
                         resize="bilinear")  # fmt: skip
        return save_model(kind(masks), card, root / arch)[1]

    return save
