"""``monitor eval --plot``: the precision-recall curve as a PNG (matplotlib, an optional extra)."""

from __future__ import annotations

from pathlib import Path

from ._errors import MonitorError
from ._evaluate import Report


def plot_curve(report: Report, path: Path, *, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MonitorError(
            "--plot needs matplotlib: pip install 'monitor[plot]' (or pip install matplotlib)"
        ) from None
    recall = [r for _, _, r in report.curve]
    precision = [p for _, p, _ in report.curve]
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    ax.plot(recall, precision, drawstyle="steps-post", label="monitor")
    for name, m, marker in (
        ("configured threshold", report.at_threshold, "o"),
        ("best threshold", report.best, "s"),
        ("keyword baseline", report.keyword, "x"),
    ):
        ax.plot([m.recall], [m.precision], marker, label=f"{name} (F1 {m.f1:.2f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write the plot: {exc.strerror}") from None
    finally:
        plt.close(fig)
