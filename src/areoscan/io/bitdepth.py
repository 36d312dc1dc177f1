"""Effective bit depth of an image: which DN is "white" when pixels are scaled to [0, 1].

Use :func:`effective_bit_depth` when opening a raster. The same physical data must reach a model as
the same [0, 1] values whatever container holds it: a HiRISE RED is 10-bit data, whether the JP2
codestream declares 10 bits or (after a GDAL re-encode) 16 bits. The order of evidence is
  1. the PDS3 label: SAMPLE_BIT_MASK (2#0000001111111111# -> 10 bits), else SAMPLE_BITS;
  2. the JPEG2000 codestream precision (SIZ) or the file's NBITS tag (GeoTIFF, PDS/ISIS via GDAL);
  3. the data type's width (8 or 16).
Steps 2 and 3 arrive here as ``precision`` (the backends fold 3 into 2).
"""

from __future__ import annotations

from pathlib import Path

from areoscan.errors import LabelError


def bits_from_mask(sample_bits: int, mask: int | None) -> int:
    """Significant bits: the run of low bits in SAMPLE_BIT_MASK, else SAMPLE_BITS."""
    return int(mask).bit_length() if mask else int(sample_bits)


def effective_bit_depth(
    path: Path,
    precision: int,
    container_bits: int,
    label_bits: int | None = None,
    label_path: Path | None = None,
) -> int:
    """Bits that carry data: ``label_bits`` when a label gives them, else ``precision``.

    precision: what the file declares (codestream precision, NBITS, or dtype width); container_bits:
    width of the decoded samples (8 or 16). A label may claim fewer bits than the file declares
    (10-bit data in a 16-bit container); it may not claim more, which means it describes another
    product: LabelError naming both.
    """
    if label_bits is None:
        return int(precision)
    if label_bits > precision or label_bits > container_bits:
        where = label_path or "label"
        raise LabelError(
            f"{where}: says {label_bits}-bit samples but {path.name} has {precision}-bit; "
            "the label belongs to another product (fix it or pass --label)"
        )
    return int(label_bits)
