"""Knowledge distillation for classifiers: keep a trained model's judgement of chosen tiles.

Use it through ``areoscan train classifier --distil-from MODEL`` when a retrained model must learn
something new (e.g. new synthetic coral families) without losing what an earlier model does well
on real data (the shipped screen's ranking of real landmark tiles): for every training tile of the
*distilled sources* (default: every real source without a positive tile — the landmark tiles and
pit crops of a screen), the student's softmax at temperature ``tau`` is pulled toward the
teacher's *calibrated* softmax at the same temperature, on the same augmented tile, while the
labels keep driving every tile (the synthetic families included):

    loss = CE(student, labels) + W * sum_distilled KL(softmax(z_t / (T_cal * tau)) ||
                                                      softmax(z_s / tau)) * tau**2 / batch

``z_t`` are the teacher's logits (eval mode, no gradient, one view, its decision offsets added),
``T_cal`` its calibration temperature (1 without one), so at ``tau`` = 1 the targets are exactly the
probabilities the teacher's card gives; a larger ``tau`` softens both sides and moves the loss
toward matching logits (the ranking among confident negatives, not only their probabilities).
The ``tau**2`` keeps the gradient's size independent of ``tau`` (Hinton et al. 2015). The sum is
divided by the batch size, so W weighs the distilled tiles by their share of the batch. Mined
hard-negative copies (:mod:`areoscan.train.mining`) are distilled when their original is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from areoscan.data.samples import SampleSet
from areoscan.errors import DataError
from areoscan.models.card import ModelCard
from areoscan.models.classifiers import TileClassifier
from areoscan.train.mining import HARD_SOURCE

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class DistilConfig:
    """What ``--distil-from`` asks for (recorded in the card).

    model: the teacher (registry name or card path). weight: W above. temperature: tau above.
    sources: the data sources whose tiles are distilled (empty: every real source — not ``synth``
    — that holds no tile of the positive class; without a positive class, every real source).
    """

    model: str
    weight: float = 1.0
    temperature: float = 1.0
    sources: tuple[str, ...] = ()


def distil_kl(student: torch.Tensor, teacher: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Per-row ``KL(softmax(teacher / tau) || softmax(student / tau)) * tau**2`` of logits (N, C).

    ``teacher`` are already calibrated logits; zero where the two rows are equal."""
    log_p = F.log_softmax(teacher / tau, dim=1)
    log_q = F.log_softmax(student / tau, dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1) * tau**2


def pack_targets(labels: torch.Tensor, teacher: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """One target tensor (N, 1 + C) for :func:`~areoscan.train.loop.fit`: column 0 the label,
    then the teacher's calibrated logits on the ``rows`` distilled (NaN on the others)."""
    t = torch.full((len(labels), teacher.shape[1]), float("nan"), dtype=torch.float32)
    t[rows] = teacher[rows].float()
    return torch.cat([labels.float()[:, None], t], dim=1)


@dataclass
class DistilLoss:
    """``base(logits, labels) + weight * distillation`` on packed targets (:func:`pack_targets`);
    bare integer labels fall back to ``base``. Keeps each step's two terms (:meth:`summary`)."""

    base: LossFn
    weight: float
    temperature: float
    steps: list[tuple[float, float]] = field(default_factory=list)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.ndim == 1:
            return self.base(logits, target)
        labels, teacher = target[:, 0].long(), target[:, 1:]
        rows = ~torch.isnan(teacher[:, 0])
        ce = self.base(logits, labels)
        kd = distil_kl(logits[rows], teacher[rows], self.temperature).sum() / len(labels)
        self.steps.append((float(ce.detach()), float(kd.detach())))
        return ce + self.weight * kd

    def summary(self) -> dict[str, Any]:
        """Mean label and distillation terms (the latter before the weight) over all steps, the
        first and the last tenth of them: whether both terms mattered, and how far the student
        drifted from the teacher while learning."""
        if not self.steps:
            return {"steps": 0}
        a = np.asarray(self.steps)
        k = max(1, len(a) // 10)
        return {
            "steps": len(a),
            "all": _means(a),
            "first_tenth": _means(a[:k]),
            "last_tenth": _means(a[-k:]),
        }


def _means(steps: np.ndarray) -> dict[str, float]:
    """Mean label and distillation terms of the (n, 2) step rows."""
    return {
        "label": round(float(steps[:, 0].mean()), 5),
        "distil": round(float(steps[:, 1].mean()), 5),
    }


class Distiller:
    """The teacher and the distilled sources of one training run.

    Build it with :func:`make_distiller`; :meth:`mask` marks a split's distilled tiles,
    :meth:`targets` packs a batch's labels with the teacher's logits, :meth:`loss` wraps the label
    loss, :attr:`info` goes into the card (``training.distillation``)."""

    def __init__(
        self, teacher: TileClassifier, card: ModelCard, cfg: DistilConfig, sources: list[str]
    ):
        self.teacher = teacher.eval()
        self.teacher.tta = 1  # the batch is already a random view: one teacher pass per tile
        cal = card.calibration or {}
        self.t_cal = float(cal.get("temperature", 1.0))
        self.n_classes = len(card.classes)
        self.cfg = cfg
        self.sources = set(sources)
        self.info: dict[str, Any] = {
            "teacher": card.name,
            "teacher_weights_sha256": card.weights_sha256,
            "teacher_calibration_temperature": self.t_cal,
            "weight": cfg.weight,
            "temperature": cfg.temperature,
            "sources": sorted(sources),
        }

    def mask(self, data: SampleSet) -> np.ndarray:
        """True for the tiles of ``data`` that are distilled (mined copies follow their original)."""
        origin = dict(zip(data.keys, data.sources, strict=True))
        src = [
            origin.get(k.removesuffix("#hard"), s) if s == HARD_SOURCE else s
            for k, s in zip(data.keys, data.sources, strict=True)
        ]
        return np.array([s in self.sources for s in src], dtype=bool)

    @torch.no_grad()
    def targets(self, x: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Packed targets of a batch: the teacher runs (eval mode) on the distilled rows only."""
        logits = torch.zeros(len(labels), self.n_classes)
        if bool(rows.any()):
            logits[rows] = self.teacher(x[rows]) / self.t_cal
        return pack_targets(labels, logits, rows)

    def loss(self, base: LossFn) -> DistilLoss:
        """The training loss: ``base`` on the labels plus the weighted distillation term."""
        return DistilLoss(base, self.cfg.weight, self.cfg.temperature)


def make_distiller(
    cfg: DistilConfig, samples: SampleSet, student: ModelCard, scale: float | None
) -> Distiller:
    """Load the teacher, check it reads tiles like the student, resolve the distilled sources.

    DataError (one line) when the teacher's classes, tile size, level or scale differ from the
    student's, or a named source is not in ``samples``."""
    from areoscan.models.registry import load_model

    if not (cfg.weight > 0 and cfg.temperature > 0):
        raise DataError("--distil-weight and --distil-temperature must be > 0")
    teacher, card = load_model(cfg.model)
    _check_compatible(card, student, scale)
    if not isinstance(teacher, TileClassifier):
        raise DataError(f"--distil-from {card.name}: not a tile classifier ({card.arch})")
    have = sorted(set(samples.sources))
    unknown = sorted(set(cfg.sources) - set(have))
    if unknown:
        raise DataError(f"--distil-sources {unknown}: no such source (have {have})")
    sources = list(cfg.sources) or default_sources(samples, student.positive_class)
    if not sources:
        raise DataError(f"--distil-from: no real source to distil on (have {have})")
    return Distiller(teacher, card, cfg, sources)


def default_sources(samples: SampleSet, positive_class: str | None) -> list[str]:
    """Every real source (not ``synth``) holding no tile of ``positive_class`` (all real ones
    when it is None): for a screen, the landmark tiles and the pit crops."""
    pos = samples.classes.index(positive_class) if positive_class in samples.classes else -1
    src = np.asarray(samples.sources)
    return [
        s
        for s in sorted(set(samples.sources))
        if s != "synth" and not bool((samples.labels[src == s] == pos).any())
    ]


def _check_compatible(teacher: ModelCard, student: ModelCard, scale: float | None) -> None:
    """DataError unless the teacher takes the student's tiles and answers in its classes."""
    same = {
        "classes": (teacher.classes, student.classes),
        "tile size": (teacher.tile_size, student.tile_size),
        "level": (teacher.level, student.level),
        "scale (m/px)": (teacher.scale_m_per_px or 1.0, scale or 1.0),
        "task": (teacher.task, student.task),
    }
    for what, (t, s) in same.items():
        if t != s:
            raise DataError(
                f"--distil-from {teacher.name}: its {what} {t} differ from this model's {s}"
            )
