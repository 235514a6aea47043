"""Paper figures and tables from evaluation files (never from checkpoints).

Every figure is drawn from a *plan* (``invrob.targets.plan``): panels, the models of each panel
grouped by what a line or point stands for, and the evaluation file of every (model, seed,
evaluation).  Each kind has one function ``draw_<kind>(plan, evals) -> (figure, rows)``; the
rows are the plotted numbers (mean and std over seeds), written next to the figure as CSV.
Titles say dataset, model, attack and scale, and what stands in for what at reduced scale.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from .data import get_spec  # noqa: E402
from .io import read_json  # noqa: E402
from .models import ARCH_TITLES  # noqa: E402
from .recipes import parse_epsilon  # noqa: E402
from .targets import plan_files  # noqa: E402

METRIC_LABELS = {"accuracy": "accuracy", "one_minus_fooling_rate": "1 − fooling rate"}
CSV_HEADER = ["panel", "series", "x", "mean", "std", "seeds"]

# Paper 000, Tables 1 and 2 (principal angles in degrees, in the paper's column order), shown
# beside ours when the table is computed on the paper's dataset and model.
PAPER_PRINCIPAL_ANGLES = {
    ("mnist", "madry_lenet"): {0.0: [89.48, 89.03, 86.91, 84.79, 80.97], 0.1: [89.93, 87.97, 86.15, 81.62, 76.99],
                               0.2: [89.56, 88.00, 85.83, 82.29, 80.73], 0.3: [89.75, 88.49, 87.75, 84.96, 80.45],
                               0.4: [89.33, 88.55, 86.86, 85.80, 82.13]},
    ("cifar10", "madry_resnet"): {0.0: [89.99, 89.40, 88.27, 86.98, 85.99], 2 / 255: [89.76, 88.76, 88.31, 87.15, 86.33],
                                  4 / 255: [89.78, 89.02, 88.30, 86.78, 86.41], 8 / 255: [89.69, 89.13, 88.11, 87.25, 86.42]},
}  # fmt: skip


# --------------------------------------------------------------------------- reading evaluations


def load_evaluations(plan: dict) -> dict[str, dict]:
    """Every evaluation file of the plan, read once: {path: contents}."""
    return {path: read_json(path) for path in plan_files(plan)}


def seed_values(model: dict, evaluation: str, evals: dict, get) -> np.ndarray:
    """``get(results)`` of ``evaluation`` for each seed of ``model``: an array with seeds on axis 0."""
    return np.asarray([get(evals[by_ev[evaluation]]["results"]) for by_ev in model["evals"].values()], dtype=float)


def profile(model: dict, evaluation: str, evals: dict, x_key: str, y_key: str) -> tuple[np.ndarray, ...]:
    """(x, mean, std) of a profile over seeds; the seeds' grids must agree."""
    xs = seed_values(model, evaluation, evals, lambda r: r[x_key])
    if not np.allclose(xs, xs[0]):
        raise ValueError(f"evaluation files of {model['recipe']} disagree on the {x_key} grid; rerun them")
    ys = seed_values(model, evaluation, evals, lambda r: r[y_key])
    return xs[0], ys.mean(0), ys.std(0)


def value_at(model: dict, evaluation: str, evals: dict, x_key: str, y_key: str, x: float) -> np.ndarray:
    """The profile value at grid point ``x``, per seed."""

    def get(r):
        grid = np.asarray(r[x_key], dtype=float)
        hits = np.flatnonzero(np.isclose(grid, x, atol=1e-9))
        if not len(hits):
            raise ValueError(f"{x_key} = {x:g} is not on the evaluated grid {grid.tolist()}")
        return r[y_key][hits[0]]

    return seed_values(model, evaluation, evals, get)


def first_evaluation(panel: dict, evals: dict, evaluation: str | None = None) -> dict:
    by_ev = next(iter(panel["models"][0]["evals"].values()))
    return evals[by_ev[evaluation] if evaluation else next(iter(by_ev.values()))]


# --------------------------------------------------------------------------- titles


def attack_label(evaluation: dict) -> str:
    """'PGD-40 (step 0.01, random start)' or 'FGSM', from an evaluation file's settings."""
    attack = evaluation["evaluation"].removeprefix("robustness-").removesuffix("-rotated")
    if attack == "pgd":
        s = evaluation["settings"]["attack"]
        start = ", random start" if s.get("random_start", True) else ""
        return f"PGD-{s['steps']} (step {s['step_size']:.3g}{start})"
    return attack.upper()


def model_title(panel: dict, arch: str | None = None) -> str:
    """'StdCNN on Fashion-MNIST (stands in for VGG16 on CIFAR-10)'."""
    i = panel["archs"].index(arch) if arch else 0
    arch, paper_arch = panel["archs"][i], panel["paper_archs"][i]
    dataset, paper_dataset = panel["dataset"], panel["paper_dataset"]
    title = f"{ARCH_TITLES.get(arch, arch)} on {get_spec(dataset).title}"
    if (arch, dataset) != (paper_arch, paper_dataset):
        title += f" (for {ARCH_TITLES.get(paper_arch, paper_arch)} on {get_spec(paper_dataset).title})"
    return title


def dataset_title(panel: dict) -> str:
    title = get_spec(panel["dataset"]).title
    if panel["dataset"] != panel["paper_dataset"]:
        title += f" (for {get_spec(panel['paper_dataset']).title})"
    return title


def scale_line(plan: dict) -> str:
    notes = sorted({p["scale_note"] for p in plan["panels"] if p["scale_note"]})
    return f"\n({'; '.join(notes)})" if notes else ""


def _epsilon_label(eps: float) -> str:
    k = eps * 255
    return f"{round(k)}/255" if eps and abs(k - round(k)) < 1e-6 and eps < 0.1 else f"{eps:g}"


# --------------------------------------------------------------------------- drawing helpers


def _colors(groups: list) -> dict:
    colors = dict(zip(groups, sns.color_palette("viridis", len(groups))))
    if 180.0 in colors:
        colors[180.0] = (0, 0, 0)  # the paper draws the fully augmented model in black
    return colors


def _line(ax, x, mean, std, seeds: int, scale: float = 100.0, **kw) -> None:
    """Mean over seeds (×``scale``: percent by default), with a ±1 std band when there are several seeds."""
    mean, std = np.asarray(mean), np.asarray(std)
    ax.plot(x, scale * mean, marker="o", ms=3, **kw)
    if seeds > 1:
        ax.fill_between(x, scale * (mean - std), scale * (mean + std), color=kw.get("color"), alpha=0.15)


def _rows(rows: list, panel: str, series: str, x, mean, std, seeds: int) -> None:
    for xi, m, s in zip(np.atleast_1d(x), np.atleast_1d(mean), np.atleast_1d(std)):
        rows.append([panel, series, f"{xi:g}" if xi != "" else "", f"{m:.4f}", f"{s:.4f}", seeds])


def _seeds(model: dict) -> int:
    return len(model["evals"])


ROBUSTNESS_AXES = {"xlabel": "ε (ℓ∞, pixel units)", "xlim": (0, 1), "ylim": (0, 101)}
INVARIANCE_AXES = {"xlabel": "test rotation range ±θ°", "ylabel": "rate of invariance (%)", "xlim": (0, 180),
                   "ylim": (0, 101), "title": "rotation invariance profile"}  # fmt: skip


# --------------------------------------------------------------------------- figure kinds


def draw_tradeoff(plan: dict, evals: dict):
    """Figs 1-6, 26-31: robustness profile | rotation-invariance profile, one line per training θ or ε."""
    panel = plan["panels"][0]
    adversarial = plan["kind"] == "adversarial_tradeoff"
    metric, rob_ev = panel["metric"], f"robustness-{panel['attack']}"
    groups = [m["group"] for m in panel["models"]]
    colors = _colors(groups if not adversarial else list(range(len(groups))))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    rows: list = []
    for i, model in enumerate(panel["models"]):
        g, n = model["group"], _seeds(model)
        label = _epsilon_label(g) if adversarial else f"{g:g}"
        color = colors[i if adversarial else g]
        x, mean, std = profile(model, rob_ev, evals, "epsilon", metric)
        _line(left, x, mean, std, n, color=color, label=label)
        _rows(rows, f"robustness_{metric}", label, x, mean, std, n)
        x, mean, std = profile(model, "invariance-rotation", evals, "theta", "invariance")
        _line(right, x, mean, std, n, color=color, label=label)
        _rows(rows, "rotation_invariance", label, x, mean, std, n)
        _rows(rows, "rotated_accuracy", label, *profile(model, "invariance-rotation", evals, "theta", "accuracy"), n)
        acc = seed_values(model, "clean", evals, lambda r: r["accuracy"])
        _rows(rows, "clean_accuracy", label, "", acc.mean(), acc.std(), n)
    left.set(ylabel=f"{METRIC_LABELS[metric]} (%)", title="robustness profile", **ROBUSTNESS_AXES)
    right.set(**INVARIANCE_AXES)
    left.legend(title="train ε (PGD)" if adversarial else "train θ", fontsize=7, title_fontsize=8)
    example = first_evaluation(panel, evals, rob_ev)
    how = ("adversarially trained with PGD at radius ε" if adversarial
           else "trained with random rotations in [−θ°, θ°]")  # fmt: skip
    fig.suptitle(f"{model_title(panel)}, {how}\n{attack_label(example)} robustness ({METRIC_LABELS[metric]}) | "
                 f"rotation invariance{scale_line(plan)}", fontsize=9)  # fmt: skip
    return fig, rows


def draw_perturbation_distance(plan: dict, evals: dict):
    """Figs 8-11, 19-20: accuracy with/without the attack on rotated/unrotated test | DeepFool distance."""
    panel = plan["panels"][0]
    eps = parse_epsilon(panel["epsilon"])
    attack = panel["attack"]
    thetas = [m["group"] for m in panel["models"]]
    series = {
        "train+test rotated, no attack": (f"robustness-{attack}-rotated", 0.0),
        f"train+test rotated, {attack.upper()} ε={eps:g}": (f"robustness-{attack}-rotated", eps),
        f"train rotated, unrotated test, {attack.upper()} ε={eps:g}": (f"robustness-{attack}", eps),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    rows: list = []
    n = _seeds(panel["models"][0])
    for (label, (ev, at)), color in zip(series.items(), ("tab:blue", "tab:green", "tab:red")):
        values = np.stack([value_at(m, ev, evals, "epsilon", "accuracy", at) for m in panel["models"]], axis=1)
        _line(left, thetas, values.mean(0), values.std(0), n, color=color, label=label)
        _rows(rows, "accuracy", label, thetas, values.mean(0), values.std(0), n)
    for label, ev, color in (("unrotated test", "deepfool", "tab:red"), ("test rotated ±θ", "deepfool-rotated", "tab:green")):
        values = np.stack([seed_values(m, ev, evals, lambda r: r["mean_l2"]) for m in panel["models"]], axis=1)
        _line(right, thetas, values.mean(0), values.std(0), n, color=color, label=label, scale=1.0)
        _rows(rows, "deepfool_mean_l2", label, thetas, values.mean(0), values.std(0), n)
    left.set(xlabel="training rotation range ±θ°", ylabel="accuracy (%)", xlim=(0, 180), ylim=(0, 101),
             title="accuracy")  # fmt: skip
    right.set(xlabel="training rotation range ±θ°", ylabel="mean ℓ2 DeepFool perturbation", xlim=(0, 180),
              title="average perturbation distance")  # fmt: skip
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    example = first_evaluation(panel, evals, f"robustness-{attack}")
    fig.suptitle(f"{model_title(panel)}, trained with random rotations in [−θ°, θ°]\n"
                 f"{attack_label(example)} at ε={eps:g}; DeepFool (ℓ2){scale_line(plan)}", fontsize=9)  # fmt: skip
    return fig, rows


def draw_rotated_robustness(plan: dict, evals: dict):
    """Figs 12-18: robustness profiles on rotated (by the training range) or unrotated test data."""
    panels = plan["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for k, (ax, panel) in enumerate(zip(axes[0], panels)):
        ev = f"robustness-{panel['attack']}" + ("-rotated" if panel["test"] == "rotated" else "")
        colors = _colors([m["group"] for m in panel["models"]])
        for model in panel["models"]:
            x, mean, std = profile(model, ev, evals, "epsilon", panel["metric"])
            _line(ax, x, mean, std, _seeds(model), color=colors[model["group"]], label=f"{model['group']:g}")
            _rows(rows, f"{k + 1}:{ev}:{panel['metric']}", f"{model['group']:g}", x, mean, std, _seeds(model))
        test = "train and test rotated ±θ" if panel["test"] == "rotated" else "train rotated ±θ, test unrotated"
        example = first_evaluation(panel, evals, ev)
        ax.set(ylabel=f"{METRIC_LABELS[panel['metric']]} (%)", **ROBUSTNESS_AXES,
               title=f"{model_title(panel)}\n{attack_label(example)}; {test}")  # fmt: skip
        ax.title.set_fontsize(8)
        ax.legend(title="train θ", fontsize=7, title_fontsize=8)
    fig.suptitle(f"Robustness profiles after test augmentation{scale_line(plan)}", fontsize=9)
    return fig, rows


def draw_rotation_accuracy(plan: dict, evals: dict):
    """Figs 21-22: accuracy vs test rotation range without (and with) training augmentation."""
    panels = plan["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    palette = sns.color_palette("tab10")
    for k, (ax, panel) in enumerate(zip(axes[0], panels)):
        for j, arch in enumerate(panel["archs"]):
            name = model_title(panel, arch).split(" on ")[0]
            plain = next(m for m in panel["models"] if m["group"] == [arch, "none"])
            x, mean, std = profile(plain, "invariance-rotation", evals, "theta", "accuracy")
            _line(ax, x, mean, std, _seeds(plain), color=palette[2 * j], label=f"{name}, no train augmentation")
            _rows(rows, f"{k + 1}:{panel['dataset']}", f"{arch}:no_augmentation", x, mean, std, _seeds(plain))
            augmented = [m for m in panel["models"] if m["group"][0] == arch and m["group"][1] != "none"]
            if augmented:
                ts = [m["group"][1] for m in augmented]
                vals = np.stack([value_at(m, "invariance-rotation", evals, "theta", "accuracy", m["group"][1])
                                 for m in augmented], axis=1)  # fmt: skip
                _line(ax, ts, vals.mean(0), vals.std(0), _seeds(augmented[0]), color=palette[2 * j + 1],
                      label=f"{name}, train and test ±θ")  # fmt: skip
                _rows(rows, f"{k + 1}:{panel['dataset']}", f"{arch}:train_and_test", ts, vals.mean(0), vals.std(0),
                      _seeds(augmented[0]))  # fmt: skip
        ax.set(xlabel="test rotation range ±θ°", ylabel="accuracy (%)", xlim=(0, 180), ylim=(0, 101),
               title=dataset_title(panel))  # fmt: skip
        ax.title.set_fontsize(8)
        ax.legend(fontsize=7)
    aug = any(p.get("augmented") for p in panels)
    what = "with and without random-rotation training augmentation" if aug else "without training augmentation"
    fig.suptitle(f"Accuracy on rotated test data, models trained {what}{scale_line(plan)}", fontsize=9)
    return fig, rows


def draw_sample_size(plan: dict, evals: dict):
    """Figs 23-25: accuracy vs training-set size; unrotated (left), train and test rotated (right)."""
    panel = plan["panels"][0]
    rotation = float(panel.get("rotation", 180))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    rows: list = []
    palette = sns.color_palette("tab10")
    for ax, theta in zip(axes, (0.0, rotation)):
        for j, arch in enumerate(panel["archs"]):
            models = [m for m in panel["models"] if m["group"][:2] == [arch, theta]]
            models.sort(key=lambda m: m["group"][2])
            sizes = [m["group"][2] for m in models]
            vals = np.stack([value_at(m, "invariance-rotation", evals, "theta", "accuracy", theta) for m in models], 1)
            label = model_title(panel, arch).split(" on ")[0]
            _line(ax, sizes, vals.mean(0), vals.std(0), _seeds(models[0]), color=palette[j], label=label)
            _rows(rows, f"train_test_rotation_{theta:g}", arch, sizes, vals.mean(0), vals.std(0), _seeds(models[0]))
        ax.set(xlabel="training-set size", ylabel="accuracy (%)", ylim=(0, 101),
               title="no rotation" if theta == 0 else f"train and test rotated ±{theta:g}°")  # fmt: skip
        ax.legend(fontsize=7)
    fig.suptitle(f"Sample complexity on {dataset_title(panel)}{scale_line(plan)}", fontsize=9)
    return fig, rows


FIGURES = {
    "rotation_tradeoff": draw_tradeoff,
    "adversarial_tradeoff": draw_tradeoff,
    "perturbation_distance": draw_perturbation_distance,
    "rotated_robustness": draw_rotated_robustness,
    "rotation_accuracy": draw_rotation_accuracy,
    "sample_size": draw_sample_size,
}


def write_csv(rows: list, header: list[str], out_csv: str) -> None:
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def make_figure(plan: dict, out_pdf: str, out_png: str, out_csv: str) -> int:
    """Draw figure ``plan`` and write its PDF, PNG and CSV; returns the number of evaluation files read."""
    sns.set_theme(style="whitegrid", context="paper")
    evals = load_evaluations(plan)
    fig, rows = FIGURES[plan["kind"]](plan, evals)
    fig.tight_layout()
    for out in (out_pdf, out_png):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=150)
    plt.close(fig)
    write_csv(rows, CSV_HEADER, out_csv)
    return len(evals)


# --------------------------------------------------------------------------- tables


def principal_angles_table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Table 1 / 2: one row per training ε, principal angles θ1 ≤ … ≤ θk (mean ± std over seeds)."""
    panel = plan["panels"][0]
    example = first_evaluation(panel, evals)
    k, s = example["results"]["k"], example["settings"]
    header = ["train ε", *[f"θ{i + 1}" for i in range(k)], "seeds"]
    rows = []
    for model in panel["models"]:
        angles = seed_values(model, "principal-angles", evals, lambda r: r["angles_deg"])
        n = len(angles)
        cells = [f"{m:.2f}" + (f" ± {sd:.2f}" if n > 1 else "") for m, sd in zip(angles.mean(0), angles.std(0))]
        rows.append([_epsilon_label(model["group"]), *cells, str(n)])
    paper = PAPER_PRINCIPAL_ANGLES.get((panel["dataset"], panel["arch"]))
    if paper and (panel["dataset"], panel["arch"]) == (panel["paper_dataset"], panel["paper_arch"]):
        for eps, values in paper.items():
            rows.append([f"paper {_epsilon_label(eps)}", *[f"{v:.2f}" for v in sorted(values)[:k]], ""])
    caption = (f"Principal angles (degrees, ascending) between the top-{k} right-singular subspaces of "
               f"{attack_label({'evaluation': 'robustness-pgd', 'settings': s})} perturbations "
               f"at ε={_epsilon_label(s['epsilon'])} "
               f"and of (rotated by {s['rotation_deg']:g}°) − original differences, {model_title(panel)}, "
               f"{example['test_images']} test images, one row per PGD-training ε"
               f"{'; ' + panel['scale_note'] if panel['scale_note'] else ''}.")  # fmt: skip
    return header, rows, caption


TABLES = {"principal_angles": principal_angles_table}


def _markdown(header, rows, caption) -> str:
    lines = [f"**{caption}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _latex(header, rows, caption) -> str:
    def esc(text: str) -> str:
        return (text.replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")
                .replace("±", r"$\pm$").replace("ε", r"$\varepsilon$").replace("θ", r"$\theta$")
                .replace("°", r"$^\circ$").replace("−", "-").replace("ℓ", r"$\ell$").replace("∞", r"$\infty$"))  # fmt: skip

    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{esc(caption)}}}",
             r"\begin{tabular}{" + "l" + "r" * (len(header) - 1) + "}", r"\toprule",
             " & ".join(esc(h) for h in header) + r" \\", r"\midrule"]  # fmt: skip
    lines += [" & ".join(esc(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def make_table(plan: dict, out_csv: str, out_md: str, out_tex: str) -> int:
    evals = load_evaluations(plan)
    header, rows, caption = TABLES[plan["kind"]](plan, evals)
    write_csv(rows, header, out_csv)
    Path(out_md).write_text(_markdown(header, rows, caption))
    Path(out_tex).write_text(_latex(header, rows, caption))
    return len(evals)
