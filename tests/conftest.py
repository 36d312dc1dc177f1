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
