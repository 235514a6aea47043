"""Paper figures from evaluation files (never from checkpoints).

``rotation_tradeoff`` is the two-panel figure of paper 000 §2.1 (Figs 1, 3, 26, 28): the
robustness profile (left) and the rotation-invariance profile (right) of models trained with
random rotations in [−θ°, θ°], one line per training θ (mean over seeds, band = ±1 std when
there are several).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from .data import get_spec  # noqa: E402
from .io import read_json  # noqa: E402
from .models import ARCH_TITLES  # noqa: E402

METRIC_LABELS = {"accuracy": "accuracy", "one_minus_fooling_rate": "1 − fooling rate"}


def attack_label(evaluation: dict) -> str:
    """'PGD-40 (step 0.01)' or 'FGSM', from an evaluation file's settings."""
    attack = evaluation["evaluation"].removeprefix("robustness-")
    if attack == "pgd":
        s = evaluation["settings"]["attack"]
        start = ", random start" if s.get("random_start", True) else ""
        return f"PGD-{s['steps']} (step {s['step_size']:.3g}{start})"
    return attack.upper()


def _series(evals: list[dict], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.asarray(evals[0]["results"][x_key], dtype=float)
    for e in evals[1:]:
        if not np.allclose(e["results"][x_key], xs):
            raise ValueError(f"evaluation files disagree on the {x_key} grid; rerun them with one config")
    ys = np.asarray([e["results"][y_key] for e in evals], dtype=float)
    return xs, ys.mean(0), ys.std(0)


def rotation_tradeoff_data(eval_paths: list[str], metric: str) -> dict:
    """Group evaluation files by training θ: {θ: {'robustness': (x, mean, std), 'invariance': ..., ...}}."""
    groups: dict[float, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for path in eval_paths:
        e = read_json(path)
        kind = "robustness" if e["evaluation"].startswith("robustness-") else e["evaluation"]
        groups[float(e["training"]["rotation"])][kind].append(e)
    data = {}
    for theta, by_kind in sorted(groups.items()):
        data[theta] = {
            "robustness": _series(by_kind["robustness"], "epsilon", metric),
            "invariance": _series(by_kind["invariance-rotation"], "theta", "invariance"),
            "rotated_accuracy": _series(by_kind["invariance-rotation"], "theta", "accuracy"),
            "clean_accuracy": float(np.mean([e["results"]["accuracy"] for e in by_kind["clean"]])),
            "seeds": len(by_kind["robustness"]),
            "example": by_kind["robustness"][0],
        }
    return data


def rotation_tradeoff_title(example: dict, scale_note: str, paper_dataset: str | None, metric: str) -> str:
    arch = ARCH_TITLES.get(example["arch"], example["arch"])
    dataset = get_spec(example["dataset"]).title
    line1 = f"{arch} on {dataset}, trained with random rotations in [−θ°, θ°]"
    line2 = f"{attack_label(example)} robustness ({METRIC_LABELS[metric]}) | rotation invariance"
    if scale_note:
        stand_in = (f"; stands in for {get_spec(paper_dataset).title}"
                    if paper_dataset and paper_dataset != example["dataset"] else "")  # fmt: skip
        line2 += f"\n({scale_note}{stand_in})"
    return f"{line1}\n{line2}"


def plot_rotation_tradeoff(data: dict, title: str, metric: str, out_pdf: str, out_png: str, out_csv: str) -> None:
    sns.set_theme(style="whitegrid", context="paper")
    thetas = sorted(data)
    colors = dict(zip(thetas, sns.color_palette("viridis", len(thetas))))
    if 180.0 in colors:
        colors[180.0] = (0, 0, 0)  # the paper draws the fully augmented model in black
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    for theta in thetas:
        for ax, key in ((left, "robustness"), (right, "invariance")):
            x, mean, std = data[theta][key]
            ax.plot(x, 100 * mean, marker="o", ms=3, color=colors[theta], label=f"{theta:g}")
            if data[theta]["seeds"] > 1:
                ax.fill_between(x, 100 * (mean - std), 100 * (mean + std), color=colors[theta], alpha=0.15)
    left.set(xlabel="ε (ℓ∞, pixel units)", ylabel=f"{METRIC_LABELS[metric]} (%)", xlim=(0, 1), ylim=(0, 101),
             title="robustness profile")  # fmt: skip
    right.set(xlabel="test rotation range ±θ° ", ylabel="rate of invariance (%)", xlim=(0, 180),
              title="rotation invariance profile")  # fmt: skip
    right.tick_params(labelleft=True)
    left.legend(title="train θ", fontsize=7, title_fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    for out in (out_pdf, out_png):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=150)
    plt.close(fig)
    write_rotation_tradeoff_csv(data, metric, out_csv)


def write_rotation_tradeoff_csv(data: dict, metric: str, out_csv: str) -> None:
    """The plotted numbers, long format: train_theta, panel, x, mean, std."""
    with open(out_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["train_theta", "panel", "x", "mean", "std", "seeds"])
        for theta in sorted(data):
            d = data[theta]
            panels = ((f"robustness_{metric}", d["robustness"]), ("rotation_invariance", d["invariance"]),
                      ("rotated_accuracy", d["rotated_accuracy"]))  # fmt: skip
            for panel, (x, mean, std) in panels:
                for xi, m, s in zip(x, mean, std):
                    w.writerow([f"{theta:g}", panel, f"{xi:g}", f"{m:.4f}", f"{s:.4f}", d["seeds"]])
            w.writerow([f"{theta:g}", "clean_accuracy", "", f"{d['clean_accuracy']:.4f}", "", d["seeds"]])
