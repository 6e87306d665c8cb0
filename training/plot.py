"""The loss-curve PNG saved with every adapter: training loss per step and dev loss points."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_loss_curve(history: Sequence[dict[str, float]], path: Path) -> None:
    """Draw the train loss (raw and a moving average) and the dev loss against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(h["step"], h["loss"]) for h in history if "loss" in h]
    dev = [(h["step"], h["dev_loss"]) for h in history if "dev_loss" in h]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        steps, losses = zip(*train, strict=True)
        axes.plot(steps, losses, color="#9ecae1", linewidth=0.8, label="train loss")
        window = max(1, len(losses) // 20)
        smooth = [
            sum(losses[max(0, i - window + 1) : i + 1])
            / len(losses[max(0, i - window + 1) : i + 1])
            for i in range(len(losses))
        ]
        axes.plot(
            steps, smooth, color="#08519c", linewidth=1.5, label=f"train ({window}-step mean)"
        )
    if dev:
        steps, losses = zip(*dev, strict=True)
        axes.plot(steps, losses, "o-", color="#e6550d", label="dev loss")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss per completion token")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
