"""Model cards: the JSON half of a model (the other half is ``name.safetensors``).

Use :class:`ModelCard` whenever a model is saved, shipped or loaded: it records everything needed to
rebuild the torch module (``task`` + ``arch`` + ``arch_kwargs``), to feed it correctly (input
``level``, ``tile_size``, ``scale_m_per_px``, ``normalisation``, ``resize``), to decide (``classes``,
``threshold``) and to trust it (training data summary and hash, split rule, metrics, weights hash).
Cards are plain JSON so that a reader never needs Python, and loading a model never unpickles.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from areoscan import __version__
from areoscan.errors import ModelError
from areoscan.models.calibration import Calibration

TASKS = ("classification", "segmentation", "detection", "embedding-segmentation")
MODES = ("spatial", "dct")


@dataclass
class ModelCard:
    """Description of one trained model; serialised as ``name.json`` beside ``name.safetensors``.

    Attributes:
        name: model name (file stem; what ``--model`` accepts for shipped models).
        task: ``"classification"``, ``"segmentation"``, ``"detection"`` or
            ``"embedding-segmentation"`` (a light decoder fed cached embeddings, see
            :mod:`areoscan.models.lightdecoder`).
        arch: architecture key known to :mod:`areoscan.models.registry` (e.g. ``"mobilenetv3_small"``).
        classes: class names, index = network output channel.
        tile_size: input tile side in pixels at ``level``.
        mode: ``"spatial"`` (pixels) or ``"dct"`` (fixed 8×8 block-DCT first layer).
        in_channels: input channels (1 for HiRISE RED).
        level: JPEG2000 resolution level the model reads (0 = full resolution, 2 = 1/4 per axis).
        scale_m_per_px: ground scale of the training tiles in metres/pixel (None if unknown/mixed).
        scale_tolerance: how many times coarser than ``scale_m_per_px`` an image may be and still
            be scanned, resampled to the training scale (None: :mod:`areoscan.scan.scale`'s default).
        normalisation: how raw pixels become the network input, e.g.
            ``{"input": "x = raw / (2**bits - 1)", "kind": "tile"|"fixed", "mean": .., "std": ..}``.
            The normalisation itself is the module's first layer; this dict documents it.
        resize: how a tile of another size is brought to ``tile_size`` (``"area"`` or ``"bilinear"``).
        threshold: decision threshold on the positive-class probability (binary screens), else None.
        positive_class: the class ``threshold`` applies to (binary screens), else None.
        calibration: how logits become calibrated probabilities (``{"method": "temperature",
            "temperature": T, ...}``, see :mod:`areoscan.models.calibration`), else None (raw
            softmax / sigmoid). ``threshold`` is on the calibrated probability.
        arch_kwargs: every keyword needed to rebuild the module with the builder for ``task``/``arch``.
        training: free-form summary of the training data and run (counts per class, epochs, seed, command).
        training_manifest_sha256: sha256 of the canonical list of training samples.
        split_rule: how train/validation/test were separated (e.g. "by observation id").
        metrics: held-out metrics (dict, JSON-serialisable).
        created: ISO date the weights were written.
        areoscan_version: package version that wrote the card.
        weights_sha256: sha256 of the ``.safetensors`` file; verified on load.
    """

    name: str
    task: str
    arch: str
    classes: list[str]
    tile_size: int
    mode: str = "spatial"
    in_channels: int = 1
    level: int = 0
    scale_m_per_px: float | None = None
    scale_tolerance: float | None = None
    normalisation: dict[str, Any] = field(default_factory=dict)
    resize: str = "area"
    threshold: float | None = None
    positive_class: str | None = None
    calibration: dict[str, Any] | None = None
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    training_manifest_sha256: str | None = None
    split_rule: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: _dt.date.today().isoformat())
    areoscan_version: str = __version__
    weights_sha256: str = ""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def n_classes(self) -> int:
        """Number of network outputs (one per class)."""
        return len(self.classes)

    def validate(self) -> None:
        """Raise ModelError if a field has an impossible value."""
        where = f"model card {self.name!r}"
        if not self.name or any(c in self.name for c in "/\\"):
            raise ModelError(f"{where}: name must be a non-empty file stem without slashes")
        if self.task not in TASKS:
            raise ModelError(f"{where}: task must be one of {TASKS}, got {self.task!r}")
        if self.mode not in MODES:
            raise ModelError(f"{where}: mode must be one of {MODES}, got {self.mode!r}")
        if not isinstance(self.classes, list) or len(self.classes) < 1:
            raise ModelError(f"{where}: classes must be a non-empty list of names")
        if len(set(self.classes)) != len(self.classes):
            raise ModelError(f"{where}: class names must be unique, got {self.classes}")
        if int(self.tile_size) < 8 or int(self.in_channels) < 1 or int(self.level) < 0:
            raise ModelError(
                f"{where}: tile_size >= 8, in_channels >= 1 and level >= 0 are required"
            )
        if self.mode == "dct" and int(self.tile_size) % 8:
            raise ModelError(
                f"{where}: DCT mode needs a tile size divisible by 8, got {self.tile_size}"
            )
        if self.scale_tolerance is not None and not float(self.scale_tolerance) >= 1.0:
            raise ModelError(f"{where}: scale_tolerance must be >= 1, got {self.scale_tolerance}")
        if self.calibration is not None:
            Calibration.from_dict(self.calibration, where)
        if self.positive_class is not None and self.positive_class not in self.classes:
            raise ModelError(
                f"{where}: positive_class {self.positive_class!r} is not in {self.classes}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (field order preserved)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Pretty JSON text of the card."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model card") -> ModelCard:
        """Build a card from a dict; unknown keys are rejected so typos do not pass silently."""
        if not isinstance(data, dict):
            raise ModelError(f"{source}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ModelError(f"{source}: unknown keys {unknown}; is this an areoscan model card?")
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelError(f"{source}: missing keys {missing}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ModelError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        """Read a card from a ``.json`` file (ModelError if missing or malformed)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelError(f"{path}: cannot read model card ({exc.strerror or exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data, source=str(path))

    def save(self, path: str | Path) -> Path:
        """Write the card atomically to ``path`` and return it."""
        path = Path(path)
        write_bytes_atomic(path, self.to_json().encode("utf-8"))
        return path


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_lines(lines: list[str]) -> str:
    """Hex sha256 of a canonical, sorted, newline-joined list (e.g. a training manifest)."""
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path`` and ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; models and reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
