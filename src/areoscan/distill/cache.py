"""The embedding cache: one encoder pass per image, kept on disk as memory-mapped ``.npy`` files.

Use :func:`build_cache` (``areoscan embed``) before training decoders: ``DIR/<stem>.npy`` holds one
image's float16 ``(C, grid, grid)`` embedding and ``DIR/cache.json`` the encoder and every image's
source, size and split group. Re-running skips images whose source file (size and mtime) and
encoder are unchanged, so adding a few labelled images costs only their own pass. A cache holds one
encoder's embeddings: mixing encoders in one folder is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.annotations.model import default_group
from areoscan.distill.encoders import Encoder
from areoscan.errors import DataError
from areoscan.io.atomic import atomic_output

INDEX = "cache.json"


@dataclass
class EmbeddingCache:
    """An embedding folder: the encoder it belongs to and its images (stem -> facts)."""

    folder: Path
    encoder: str
    input_size: int
    grid: int
    channels: int
    images: dict[str, dict[str, Any]] = field(default_factory=dict)

    def load(self, stem: str) -> np.ndarray:
        """The embedding of ``stem``, memory-mapped read-only (float16 ``(C, grid, grid)``)."""
        path = self.folder / f"{stem}.npy"
        try:
            return np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{path}: unreadable embedding ({exc}); re-run areoscan embed"
            ) from None

    def group(self, stem: str) -> str:
        """The split group (observation) of an image."""
        return str(self.images[stem]["group"])

    def save_index(self) -> None:
        doc = {
            "encoder": self.encoder,
            "input_size": self.input_size,
            "grid": self.grid,
            "channels": self.channels,
            "images": self.images,
        }
        with atomic_output(self.folder / INDEX) as tmp:
            tmp.write_text(json.dumps(doc, indent=1))


def open_cache(folder: str | Path) -> EmbeddingCache:
    """Read ``folder/cache.json``; DataError (one line) if it is not an embedding cache."""
    folder = Path(folder)
    index = folder / INDEX
    try:
        doc = json.loads(index.read_text())
        return EmbeddingCache(
            folder,
            str(doc["encoder"]),
            int(doc["input_size"]),
            int(doc["grid"]),
            int(doc["channels"]),
            dict(doc["images"]),
        )
    except FileNotFoundError:
        raise DataError(f"{folder}: no {INDEX}; build the cache with 'areoscan embed'") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{index}: not an embedding cache index ({exc})") from None


def _stamp(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"source": str(path.resolve()), "bytes": st.st_size, "mtime": round(st.st_mtime, 3)}


def build_cache(
    images: list[Path],
    encoder: Encoder,
    folder: Path,
    *,
    read: Callable[[Path], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[EmbeddingCache, int]:
    """Embed every image not yet cached; returns (cache, number of encoder passes run)."""
    from areoscan.distill.label import read_image_u8

    read = read or read_image_u8
    if (folder / INDEX).is_file():
        cache = open_cache(folder)
        if cache.encoder != encoder.spec or cache.input_size != encoder.input_size:
            raise DataError(
                f"{folder}: holds {cache.encoder} embeddings at {cache.input_size} px, not "
                f"{encoder.spec} at {encoder.input_size} px; use another folder"
            )
    else:
        cache = EmbeddingCache(
            folder, encoder.spec, encoder.input_size, encoder.grid, encoder.channels
        )
    stems = [p.stem for p in images]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise DataError(f"two images share the file stem {dup[0]!r}; embeddings are named by stem")
    passes = 0
    for k, path in enumerate(images):
        stamp = _stamp(path)
        known = cache.images.get(path.stem)
        if known and all(known.get(key) == v for key, v in stamp.items()):
            if (folder / f"{path.stem}.npy").is_file():
                continue
        if progress:
            progress(f"{k + 1}/{len(images)} {path.name}")
        pixels = read(path)
        emb = encoder.embed(pixels)
        with atomic_output(folder / f"{path.stem}.npy") as tmp:
            np.save(tmp, emb)
        h, w = pixels.shape
        cache.images[path.stem] = {
            **stamp,
            "height": h,
            "width": w,
            "group": default_group(path.name),
        }
        passes += 1
        if passes % 20 == 0:
            cache.save_index()  # a long run interrupted keeps what it did
    cache.save_index()
    return cache, passes
