"""Train a tile classifier from a :class:`~areoscan.data.samples.SampleSet`; return module + card.

Use :func:`train_classifier` (what ``areoscan train classifier`` runs). It splits by observation
(:func:`~areoscan.data.splits.split_by_group`), trains with :func:`~areoscan.train.loop.fit`
(early stopping on validation macro-F1), tunes the decision on the validation split, evaluates once
on the held-out test split and writes the numbers into the card.

Class imbalance: *weighted sampling*, not a weighted loss. Each epoch draws its batches with
probability ∝ count(class)^-balance (``balance`` = 1 fully balanced, 0 natural frequencies; 0.5 by
default), so rare classes (14 "impact ejecta" tiles next to 3,500 "other") appear in most batches
— every step sees them, with fresh augmentation — while a weighted loss would see them in a few
steps with huge weights (noisy gradients, BatchNorm statistics dominated by the majority). The
prior shift this sampling causes is then corrected on validation data by per-class logit offsets
(multi-class) or a probability threshold (binary screens), chosen to maximise validation macro-F1.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from areoscan.data.augment import Augment, AugmentConfig
from areoscan.data.metrics import binary_rates, confusion_matrix, scores
from areoscan.data.samples import SampleSet
from areoscan.data.splits import split_by_group
from areoscan.errors import DataError
from areoscan.models.card import ModelCard, sha256_lines
from areoscan.models.classify import predict_tiles
from areoscan.models.export import TorchRunner
from areoscan.models.norm import CLASSIFIER_MIN_STD
from areoscan.models.registry import build_module
from areoscan.train.classifier_decision import prior_shift, screen_threshold, tune_decision
from areoscan.train.classifier_draws import draws, inverse_frequency, sampling_weights
from areoscan.train.classifier_splits import force_test, keep_init_test
from areoscan.train.distil import DistilConfig, Distiller, make_distiller
from areoscan.train.freeze import freeze_stages
from areoscan.train.loop import FitConfig, FitResult, fit, seed_everything
from areoscan.train.mining import false_positives, mining_fit, with_hard_negatives

__all__ = [
    "ClassifierTrainConfig",
    "TrainOutcome",
    "evaluate_split",
    "init_from",
    "inverse_frequency",
    "predict_probs",
    "sampling_weights",
    "train_classifier",
]


@dataclass
class ClassifierTrainConfig:
    """Everything that defines a classifier training run (recorded in the model card).

    name/arch/mode/size: model identity and input (see :mod:`areoscan.models.classifiers`).
    level/scale_m_per_px: the resolution level and ground scale the tiles represent (documentation
    for users of the model: the scan reads this level). scale_tolerance: how many times coarser an
    image may be and still be scanned, resampled (the card's field; None: the scan's default). norm: ``tile`` or ``fixed`` first layer.
    balance: sampling exponent (see module doc). label_smoothing: cross-entropy smoothing.
    class_weighted_loss: also weight the loss by inverse class frequency (the common recipe; kept
    to reproduce baselines that use it — with ``balance=0`` it replaces weighted sampling).
    balance_sources: within a class, every data source gets an equal share of the draws
    (``source_balance`` 1; 0.5: shares ∝ sqrt(source size), see :func:`sampling_weights`).
    test_pattern: regular expression; samples whose key matches go to the test split (and their
    groups with them), whatever the group split says (e.g. hold out chosen real tiles).
    tta: test-time views (1, 2, 4, 8). fractions: train/val/test shares (by observation).
    positive_class: for binary screens, the class whose probability is thresholded.
    min_recall: for screens, the threshold is the highest one keeping validation recall >= this
    (None: the threshold maximising validation F1). max_fpr: for screens, instead the lowest
    threshold flagging at most this share of the real validation negatives (the FP budget decides;
    use it when the synthetic positives are harder than the real ones and a recall rule would drag
    the threshold down). fpr_sources: the sources whose validation negatives set that budget
    (empty: every real one; e.g. leave out crops cut at another scale). tune: tune offsets / threshold.
    init: a model (name or path) whose weights start this one wherever names and shapes match
    (e.g. pretrained on ``synth-terrain:N``); the classification head is always fresh. The card's
    ``training.groups`` then also lists the observations the init model trained / validated on.
    init_test: with ``init``, the test split is the init model's held-out observations
    (:func:`~areoscan.train.classifier_splits.keep_init_test`): a warm start's test figures stay
    about observations neither model saw.
    calibrate: ``"temperature"`` fits a temperature on the validation logits after training and
    stores it in the card (:mod:`areoscan.models.calibration`); a screen's threshold is then tuned
    on the calibrated probabilities. None: raw softmax (the old cards).
    mine_rounds / mine_epochs: hard-negative mining for screens (:mod:`areoscan.train.mining`):
    after training, the training negatives the screen flags at its validation-tuned threshold are
    added as a source of their own and training goes on for ``mine_epochs``; repeated
    ``mine_rounds`` times (0: off).
    distil: keep a teacher model's calibrated output on the tiles of chosen (by default the real
    background) sources while the labels drive the rest (:mod:`areoscan.train.distil`); None: off.
    freeze_stages: keep the backbone's stem and first N stages fixed (:mod:`areoscan.train.freeze`).
    """

    name: str = "classifier"
    arch: str = "mobilenetv3_small"
    mode: str = "spatial"
    size: int = 128
    level: int = 0
    scale_m_per_px: float | None = None
    scale_tolerance: float | None = None
    norm: str = "tile"
    batch_size: int = 64
    steps_per_epoch: int | None = None
    balance: float = 0.5
    balance_sources: bool = False
    source_balance: float = 1.0
    test_pattern: str | None = None
    label_smoothing: float = 0.05
    class_weighted_loss: bool = False
    tta: int = 1
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 0
    threads: int = 2
    positive_class: str | None = None
    min_recall: float | None = None
    max_fpr: float | None = None
    fpr_sources: tuple[str, ...] = ()
    tune: bool = True
    init: str | None = None
    init_test: bool = False
    calibrate: str | None = None
    mine_rounds: int = 0
    mine_epochs: int = 6
    distil: DistilConfig | None = None
    freeze_stages: int = 0
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    fit: FitConfig = field(default_factory=FitConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class TrainOutcome:
    """What :func:`train_classifier` returns."""

    module: nn.Module
    card: ModelCard
    fit: FitResult
    splits: dict[str, np.ndarray]


def init_from(module: nn.Module, source: str) -> dict[str, Any]:
    """Copy every tensor of model ``source`` whose name and shape match into ``module``."""
    from areoscan.models.registry import load_model

    src, src_card = load_model(source)
    mine = module.state_dict()
    copied = {
        k: v
        for k, v in src.state_dict().items()
        if k in mine and mine[k].shape == v.shape and k != "logit_bias"
    }
    if not copied:
        raise DataError(
            f"--init {source}: no weights fit this architecture ({src_card.arch} -> {module.__class__.__name__})"
        )
    mine.update(copied)
    module.load_state_dict(mine)
    return {
        "model": src_card.name,
        "weights_sha256": src_card.weights_sha256,
        "tensors_copied": len(copied),
        "tensors_total": len(mine),
    }


def predict_probs(
    module: nn.Module, card: ModelCard, images: np.ndarray, batch: int = 128
) -> np.ndarray:
    """Softmax probabilities for in-memory tiles (N, S, S)."""
    runner = TorchRunner(module, card, channels_last=False)
    return predict_tiles(runner, images, batch, calibration=card.calibration)


def evaluate_split(
    module: nn.Module, card: ModelCard, data: SampleSet, probs: np.ndarray | None = None
) -> dict[str, Any]:
    """Scores of ``module`` on ``data`` (decision rule of the card applied)."""
    from areoscan.models.classify import decide

    if probs is None:
        probs = predict_probs(module, card, data.images)
    pred = decide(probs, card)
    cm = confusion_matrix(data.labels, pred, card.n_classes)
    out = scores(cm, card.classes)
    if card.positive_class is not None:
        out["binary"] = binary_rates(cm, card.classes.index(card.positive_class))
    return out


def train_classifier(
    samples: SampleSet, cfg: ClassifierTrainConfig, command: str = ""
) -> TrainOutcome:
    """Split, train, tune and test; the card carries the test metrics (module in eval mode)."""
    seed_everything(cfg.seed, cfg.threads)
    tr, va, te, init_training = _splits(samples, cfg)
    train, val = samples.subset(tr), samples.subset(va)
    test = samples.subset(te) if len(te) else None
    card = _new_card(samples, cfg)
    module: Any = build_module(card)
    init_info = init_from(module, cfg.init) if cfg.init else None
    frozen = freeze_stages(module, cfg.freeze_stages) if cfg.freeze_stages else None
    distil = make_distiller(cfg.distil, samples, card, cfg.scale_m_per_px) if cfg.distil else None
    n_cls = card.n_classes
    loss_w = inverse_frequency(train.labels, n_cls) if cfg.class_weighted_loss else None
    loss_fn: Any = nn.CrossEntropyLoss(weight=loss_w, label_smoothing=cfg.label_smoothing)
    if distil is not None:
        loss_fn = distil.loss(loss_fn)

    def validate(model: Any) -> tuple[float, dict[str, Any]]:
        # model selection without test-time views (8x cheaper); TTA is applied for tuning and test
        tta, model.tta = model.tta, 1
        try:
            s = evaluate_split(model, card, val)
        finally:
            model.tta = tta
        return s["macro_f1"], {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"]}

    t0 = time.monotonic()
    result, train, weights, mining = _fit_and_mine(
        module, card, (train, val), cfg, (loss_fn, validate), distil
    )
    if frozen is not None:
        frozen[1].remove()
    # the prior the network learnt: draws x loss weights (logit adjustment undoes both)
    effective = weights.numpy() * (loss_w.numpy()[train.labels] if loss_w is not None else 1.0)
    decision = tune_decision(module, card, val, cfg, prior_shift(train.labels, effective, n_cls))
    metrics: dict[str, Any] = {
        "validation": evaluate_split(module, card, val),
        "fit": dataclasses.asdict(result),
    }
    if test is not None:
        metrics.update(_test_metrics(module, card, test))
    card.metrics = metrics
    card.training = {
        "decision": decision,
        "init": init_info,
        "distillation": _distil_record(distil, loss_fn, train),
        "frozen": frozen[0] if frozen is not None else None,
        "hard_negative_mining": mining,
        "command": command,
        "seconds": round(time.monotonic() - t0, 1),
        "train": train.summary(),
        "validation": val.summary(),
        "test": test.summary() if test is not None else None,
        "all_samples": samples.summary(),
        "config": _jsonable(dataclasses.asdict(cfg)),
        "groups": _seen_groups(train, val, init_training),
    }
    card.training_manifest_sha256 = sha256_lines(train.manifest_lines())
    return TrainOutcome(module, card, result, {"train": tr, "val": va, "test": te})


def _splits(
    samples: SampleSet, cfg: ClassifierTrainConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Train / validation / test indices by observation (forced test tiles and the init model's
    held-out observations applied) and the init model's ``training`` block."""
    tr, va, te = split_by_group(samples, cfg.fractions, seed=cfg.seed)
    if cfg.test_pattern:
        tr, va, te = force_test(samples, (tr, va, te), cfg.test_pattern)
    init_training = _init_training(cfg)
    if cfg.init_test:
        tr, va, te = keep_init_test(samples, (tr, va, te), init_training)
    if len(tr) == 0 or len(va) == 0:
        raise DataError(
            "too few observation groups (source images) to make train and validation splits"
        )
    return tr, va, te, init_training


def _fit_and_mine(
    module: Any,
    card: ModelCard,
    data: tuple[SampleSet, SampleSet],
    cfg: ClassifierTrainConfig,
    fns: tuple[Any, Callable[[Any], tuple[float, dict[str, Any]]]],
    distil: Distiller | None,
) -> tuple[FitResult, SampleSet, torch.Tensor, list[dict[str, Any]]]:
    """Train on ``data`` = (train, val), then the hard-negative mining rounds of a screen; the last
    fit's result, the training set with the mined copies, its draw weights, the rounds' summaries."""
    (train, val), (loss_fn, validate) = data, fns
    gen = torch.Generator().manual_seed(cfg.seed)
    aug = Augment(cfg.augment, seed=cfg.seed + 1)
    batches, weights, steps = draws(train, cfg, card.n_classes, gen, aug, distil)
    result = fit(module, batches, steps, loss_fn, validate, cfg.fit)
    mining: list[dict[str, Any]] = []
    for _ in range(cfg.mine_rounds if cfg.positive_class is not None else 0):
        pos = card.classes.index(str(cfg.positive_class))
        t = screen_threshold(predict_probs(module, card, val.images)[:, pos], val, pos, cfg)
        hard = false_positives(train, predict_probs(module, card, train.images)[:, pos], pos, t)
        mining.append(hard.summary)
        if not len(hard.indices):
            break
        train = with_hard_negatives(train, hard.indices)
        batches, weights, steps = draws(train, cfg, card.n_classes, gen, aug, distil)
        result = fit(
            module, batches, steps, loss_fn, validate, mining_fit(cfg.fit, cfg.mine_epochs)
        )
    return result, train, weights, mining


def _distil_record(
    distil: Distiller | None, loss_fn: Any, train: SampleSet
) -> dict[str, Any] | None:
    """The card's ``training.distillation``: teacher, W, tau, sources, the distilled training
    tiles and the mean of both loss terms (None without ``--distil-from``)."""
    if distil is None:
        return None
    return {
        **distil.info,
        "train_tiles_distilled": int(distil.mask(train).sum()),
        "loss_terms": loss_fn.summary(),
    }


def _init_training(cfg: ClassifierTrainConfig) -> dict[str, Any]:
    """The ``training`` block of the init model's card ({} without ``--init``)."""
    if cfg.init_test and not cfg.init:
        raise DataError("--init-test needs --init MODEL")
    if not cfg.init:
        return {}
    from areoscan.models.registry import load_card

    return dict(load_card(cfg.init).training or {})


def _seen_groups(
    train: SampleSet, val: SampleSet, init_training: dict[str, Any]
) -> dict[str, list[str]]:
    """Real observation ids seen in training / validation, the init model's included (evaluation
    leaves them out; synthetic tiles excluded)."""
    init = init_training.get("groups") or {}
    return {
        part: sorted(
            {g for g in data.groups if not g.startswith("synth/")} | set(init.get(part, []))
        )
        for part, data in (("train", train), ("validation", val))
    }


def _new_card(samples: SampleSet, cfg: ClassifierTrainConfig) -> ModelCard:
    """The card of a classifier about to be trained (metrics and training notes come later)."""
    return ModelCard(
        name=cfg.name,
        task="classification",
        arch=cfg.arch,
        mode=cfg.mode,
        classes=list(samples.classes),
        tile_size=cfg.size,
        level=cfg.level,
        scale_m_per_px=cfg.scale_m_per_px,
        scale_tolerance=cfg.scale_tolerance,
        normalisation={
            "input": "float32 = raw / (2**bit_depth - 1) (10-bit HiRISE: /1023; 8-bit tiles: /255)",
            "kind": cfg.norm,
            "mean": 0.5,
            "std": 0.25,
            "min_std": CLASSIFIER_MIN_STD,
        },
        resize="area",
        positive_class=cfg.positive_class,
        arch_kwargs={**cfg.arch_kwargs, "tta": cfg.tta},
        split_rule=f"by observation id (group), stratified greedy, fractions {list(cfg.fractions)}, seed {cfg.seed}; test = original orientation only",
    )


def _test_metrics(module: Any, card: ModelCard, test: SampleSet) -> dict[str, Any]:
    """Test scores: all tiles, per source when several, and original orientations only."""
    out: dict[str, Any] = {}
    out["test"] = evaluate_split(module, card, test)
    by_source = sorted(set(test.sources))
    if len(by_source) > 1:
        out["test_by_source"] = {
            src: evaluate_split(
                module, card, test.subset([i for i, v in enumerate(test.sources) if v == src])
            )
            for src in by_source
        }
    strict = [i for i, v in enumerate(test.variants) if v == "orig"]
    if 0 < len(strict) < len(test):
        out["test_orig_variant_only"] = evaluate_split(module, card, test.subset(strict))
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj
