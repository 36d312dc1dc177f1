"""What an instance crop set is drawn with: :class:`InstanceConfig` (light: no numpy, so the CLI
parser can read its defaults without importing the renderer)."""

from __future__ import annotations

from dataclasses import dataclass

from areoscan.errors import DataError

INSTANCE_CLASSES = ("crater", "pit", "boulder")
IMAGE_FORMATS = ("png", "jp2")


@dataclass(frozen=True)
class InstanceConfig:
    """How instance crops are drawn.

    size: crop side in pixels (default 512, the detectors' input size). scale: metres per pixel,
    which sets the relief in metres for the shading (0.5, a HiRISE product binned 2x: the real
    crops are downsampled "print" images). classes: the object classes drawn and labelled, a
    subset of ``crater, pit, boulder``; classes left out are not drawn at all (no unlabelled
    look-alikes). image_format: ``png`` (default) or ``jp2`` (8-bit lossless JPEG 2000).
    """

    size: int = 512
    scale: float = 0.5
    classes: tuple[str, ...] = INSTANCE_CLASSES
    image_format: str = "png"

    def check(self) -> None:
        """DataError naming the bad field (the CLI prints it as one line, exit 2)."""
        if self.size < 64:
            raise DataError(f"--size must be at least 64 px, not {self.size}")
        if not self.scale > 0:
            raise DataError(f"--scale must be positive, not {self.scale}")
        unknown = [c for c in self.classes if c not in INSTANCE_CLASSES]
        if unknown or not self.classes or len(set(self.classes)) != len(self.classes):
            raise DataError(
                f"--classes must be distinct names among {', '.join(INSTANCE_CLASSES)}; "
                f"got {', '.join(self.classes) or 'none'}"
            )
        if self.image_format not in IMAGE_FORMATS:
            raise DataError(f"image format must be png or jp2, not {self.image_format!r}")
