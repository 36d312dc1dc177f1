import torch
from torch import nn

from areoscan.train.loop import FitConfig, fit, seed_everything


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def _run(epochs=6, patience=0, max_minutes=None, keep="best"):
    seed_everything(0, threads=1)
    x, y = _problem()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))

    def batches(epoch):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            b = perm[i : i + 32]
            yield x[b], y[b]

    def validate(m):
        acc = float((m(x).argmax(1) == y).float().mean())
        return acc, {"accuracy": acc}

    cfg = FitConfig(
        epochs=epochs,
        lr=1e-2,
        patience=patience,
        max_minutes=max_minutes,
        progress=False,
        log=False,
        keep=keep,
    )
    return model, fit(model, batches, 8, nn.CrossEntropyLoss(), validate, cfg)


def test_fit_learns_keeps_best_and_is_reproducible():
    m1, r1 = _run()
    m2, r2 = _run()
    assert r1.best_score > 0.9
    assert r1.best_metrics["accuracy"] == r1.best_score
    assert max(h["score"] for h in r1.history) == r1.best_score
    assert all(
        torch.equal(a, b)
        for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True)
    )


def test_time_budget_and_patience_stop_early():
    _, r = _run(epochs=50, max_minutes=0.0)
    assert r.epochs_run == 1 and "time budget" in r.stopped
    _, r = _run(epochs=200, patience=2)
    assert r.epochs_run < 200 and "no improvement" in r.stopped


def test_keep_last_trains_every_epoch_and_returns_the_final_weights():
    m, r = _run(epochs=30, patience=2, keep="last")
    assert r.epochs_run == 30 and r.stopped == "max epochs"  # patience is ignored
    assert r.kept_epoch == 30 and r.best_epoch <= 30
    x, y = _problem()
    final = float((m(x).argmax(1) == y).float().mean())
    assert final == r.history[-1]["score"]
    _, best = _run(epochs=30, patience=0)
    assert best.kept_epoch == best.best_epoch
