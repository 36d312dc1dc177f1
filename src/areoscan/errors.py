"""Exception families, caught once at the CLI edge and printed as one line.

Raise the most specific family; the message should say what is wrong, which file,
and what to do. The CLI prints ``areoscan: <message>`` and exits with ``exit_code``.
"""

from __future__ import annotations


class AreoscanError(Exception):
    """Base of every error areoscan reports to a user (exit code 2: bad input)."""

    exit_code = 2


class RasterError(AreoscanError):
    """An image cannot be opened or read (corrupt, truncated, unsupported layout)."""


class LabelError(AreoscanError):
    """A PDS3 label is missing, unreadable, or lacks keys needed for georeferencing."""


class ScaleError(AreoscanError):
    """An image's ground scale is too coarse for a model (the message names both scales)."""


class FetchError(AreoscanError):
    """A remote file cannot be downloaded (HTTP error, size mismatch, too many retries)."""


class ModelError(AreoscanError):
    """A model name, card or weights file is unknown, invalid or inconsistent."""


class DataError(AreoscanError):
    """Training / evaluation data is missing or malformed."""


class AnnotationError(AreoscanError):
    """An annotation file (VIA, COCO, YOLO) is malformed, names an unknown class or a shape off the image.

    The message names the file and the entry (image, region or line) so the user can fix that one spot.
    """


class OutputError(AreoscanError):
    """An output cannot be written (exit code 3: environment, not input)."""

    exit_code = 3
