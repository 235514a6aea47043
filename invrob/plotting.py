"""Paper figures and tables from evaluation files (never from checkpoints).

Every figure is drawn from a *plan* (``invrob.targets.plan``): panels, the models of each panel
grouped by what a line or point stands for, and the evaluation file of every (model, seed,
evaluation).  Each kind has one function ``draw_<kind>(plan, evals) -> (figure, rows)``; the
rows are the plotted numbers (mean and std over seeds), written next to the figure as CSV.
Titles say dataset, model, attack and scale, and what stands in for what at reduced scale.
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from .data import get_spec  # noqa: E402
from .io import read_json  # noqa: E402
from .models import ARCH_TITLES  # noqa: E402
from .report import html_table  # noqa: E402
from .recipes import epsilon_label, parse_epsilon, split_stages  # noqa: E402
from .evaluation import split_space  # noqa: E402
from .targets import invariance_families, plan_files, robustness_evaluation, spaced  # noqa: E402
from .theorem2_figure import draw_theorem2  # noqa: E402

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

# Paper 001, Table 1 (VGG16 on CIFAR-10): PGD accuracy at 8/255, standard accuracy, spatial accuracy
# (random rotations in ±180°), mean and std in percent, by row label (as config.yaml writes them).
_E3 = "{2/255, 4/255, 8/255}"
PAPER_CUSP_TABLE1 = {
    ("cifar10", "vgg16"): {
        "Natural (Aug 0)": ((0.05, 0.06), (92.89, 0.34), (33.99, 0.54)),
        "Natural (Aug 180)": ((0.00, 0.00), (85.00, 1.36), (83.78, 0.95)),
        "PGD (Aug 0)": ((44.88, 0.22), (80.08, 0.58), (33.07, 0.81)),
        "PGD (Aug 180)": ((32.79, 0.73), (54.60, 0.51), (53.69, 0.48)),
        "PGD (Aug 0) → Aug 180": ((0.00, 0.00), (85.46, 0.25), (83.99, 0.34)),
        "Aug 180 → PGD (Aug 0)": ((45.80, 1.05), (81.03, 0.14), (33.19, 0.33)),
        "PGD (Aug 0) → PGD (Aug 180)": ((35.19, 0.31), (58.96, 0.21), (57.84, 0.15)),
        "Aug 180 → PGD (Aug 180)": ((35.94, 0.35), (60.27, 0.39), (59.02, 0.21)),
        f"CuSP (PGD, 30-60-180, {_E3})": ((38.63, 0.11), (65.92, 0.35), (53.31, 0.13)),
        f"CuSP (PGD, 60-120-180, {_E3})": ((37.18, 0.14), (65.88, 0.11), (59.09, 0.18)),
        f"CuSP (PGD, 120-150-180, {_E3})": ((36.01, 0.36), (64.96, 0.10), (61.41, 0.61)),
        f"CuSP (PGD, 180, {_E3})": ((33.63, 0.38), (62.17, 0.50), (61.07, 0.43)),
        "CuSP (PGD, 120-150-180, {8/255})": ((35.57, 0.16), (58.08, 0.26), (55.54, 0.19)),
        f"PGD (Aug 0) → CuSP (PGD, 120-150-180, {_E3})": ((36.92, 0.28), (66.25, 0.68), (62.51, 0.12)),
        f"Aug 180 → CuSP (PGD, 120-150-180, {_E3})": ((37.16, 0.12), (66.58, 0.12), (63.04, 0.11)),
    }
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


SPACE_LABELS = {"pixel": "pixel units", "normalized": "normalised units (pixels / dataset std)"}


def space_of(evaluation: dict) -> str:
    """The ε space an evaluation file was computed in ('pixel' for files that predate the setting)."""
    return evaluation["settings"].get("epsilon_space", "pixel")


def attack_label(evaluation: dict) -> str:
    """'PGD-40 (step 0.01, random start)' or 'FGSM', from an evaluation file's settings; ε and the
    step in normalised units say so."""
    attack = split_space(evaluation["evaluation"])[0].removeprefix("robustness-").removesuffix("-rotated")
    attack = "pgd" if attack == "principal-angles" else attack
    space = ", normalised ε" if space_of(evaluation) == "normalized" else ""
    if attack == "pgd":
        s = evaluation["settings"]["attack"]
        start = ", random start" if s.get("random_start", True) else ""
        return f"PGD-{s['steps']} (step {s['step_size']:.3g}{start}{space})"
    return attack.upper() + (f" ({space.removeprefix(', ')})" if space else "")


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


def robustness_axes(evaluation: dict) -> dict:
    """x axis of a robustness profile: ε in the space the evaluation file was computed in."""
    return {"xlabel": f"ε (ℓ∞, {SPACE_LABELS[space_of(evaluation)]})", "xlim": (0, 1), "ylim": (0, 101)}


INVARIANCE_AXES = {"xlabel": "test rotation range ±θ°", "ylabel": "rate of invariance (%)", "xlim": (0, 180),
                   "ylim": (0, 101), "title": "rotation invariance profile"}  # fmt: skip


# --------------------------------------------------------------------------- figure kinds


# per invariance family: evaluation, x key, CSV names (invariance, accuracy), axes
FAMILY_AXES = {
    "rotation": ("invariance-rotation", "theta", ("rotation_invariance", "rotated_accuracy"), INVARIANCE_AXES),
    "translation": ("invariance-translation", "range", ("translation_invariance", "translated_accuracy"),
                    {**INVARIANCE_AXES, "xlabel": "test translation range ±i (× image size)", "xlim": (0, None),
                     "title": "translation invariance profile"}),
    "rt": ("invariance-rt", "range", ("rt_invariance", "rt_accuracy"),
           {**INVARIANCE_AXES, "xlabel": "test range i (±i·180°, ±i × size)", "xlim": (0, None),
            "title": "rotation-translation invariance profile"}),
}  # fmt: skip
TRAINING_DESCRIPTIONS = {
    "rotation": ("train θ", "trained with random rotations in [−θ°, θ°]"),
    "translation": ("train i", "trained with random translations within ±i × size (Aug-T)"),
    "rt": ("train i", "trained with rotations in ±i·180° and translations within ±i (Aug-RT)"),
}


def tradeoff_columns(panel: dict, families: list[str]) -> tuple[int, list[int]]:
    """(robustness column, invariance columns) of a trade-off panel: robustness first, or after the
    invariance profiles when the panel says ``invariance_first`` (paper 000 Figs 5, 6, 30, 31 and
    paper 001 Fig 1 put the invariance profile on the left)."""
    if panel.get("invariance_first"):
        return len(families), list(range(len(families)))
    return 0, list(range(1, 1 + len(families)))


def draw_tradeoff(plan: dict, evals: dict):
    """Figs 1-6, 26-31 (paper 000), Figs 1-4 (paper 001): per panel, the robustness profile and the
    invariance profiles, one line per training θ / i (spatial sweeps) or ε (adversarial sweeps)."""
    adversarial = plan["kind"] == "adversarial_tradeoff"
    panels = plan["panels"]
    families = [invariance_families(plan["kind"], panel) for panel in panels]
    ncols = 1 + max(len(f) for f in families)
    fig, axes = plt.subplots(len(panels), ncols, figsize=(5 * ncols, 4.4 * len(panels)), squeeze=False)
    rows: list = []
    for r, (panel, fams) in enumerate(zip(panels, families)):
        prefix = f"{r + 1}_" if len(panels) > 1 else ""
        metric, rob_ev = panel["metric"], robustness_evaluation(panel, False)
        rob_col, inv_cols = tradeoff_columns(panel, fams)
        groups = [m["group"] for m in panel["models"]]
        colors = _colors(groups if not adversarial else list(range(len(groups))))
        for i, model in enumerate(panel["models"]):
            g, n = model["group"], _seeds(model)
            label = epsilon_label(g) if adversarial else f"{g:g}"
            color = colors[i if adversarial else g]
            x, mean, std = profile(model, rob_ev, evals, "epsilon", metric)
            _line(axes[r, rob_col], x, mean, std, n, color=color, label=label)
            _rows(rows, f"{prefix}robustness_{metric}", label, x, mean, std, n)
            for c, family in zip(inv_cols, fams):
                evaluation, x_key, (inv_name, acc_name), _ = FAMILY_AXES[family]
                x, mean, std = profile(model, evaluation, evals, x_key, "invariance")
                _line(axes[r, c], x, mean, std, n, color=color, label=label)
                _rows(rows, prefix + inv_name, label, x, mean, std, n)
                _rows(rows, prefix + acc_name, label, *profile(model, evaluation, evals, x_key, "accuracy"), n)
            acc = seed_values(model, "clean", evals, lambda res: res["accuracy"])
            _rows(rows, f"{prefix}clean_accuracy", label, "", acc.mean(), acc.std(), n)
        method = panel.get("method", "pgd").upper()
        legend, how = ((f"train ε ({method})", f"adversarially trained with {method} at radius ε") if adversarial
                       else TRAINING_DESCRIPTIONS[fams[0]])  # fmt: skip
        example = first_evaluation(panel, evals, rob_ev)
        title = textwrap.fill(f"{model_title(panel)}, {how}", 70)
        axes[r, rob_col].set(ylabel=f"{METRIC_LABELS[metric]} (%)", **robustness_axes(example),
                             title=f"{title}\n{attack_label(example)} robustness profile")  # fmt: skip
        axes[r, rob_col].title.set_fontsize(7)
        axes[r, rob_col].legend(title=legend, fontsize=7, title_fontsize=8)
        for c, family in zip(inv_cols, fams):
            axes[r, c].set(**FAMILY_AXES[family][3])
        for c in range(1 + len(fams), ncols):
            axes[r, c].axis("off")
    if len(panels) == 1:
        panel = panels[0]
        names = [FAMILY_AXES[f][3]["title"] for f in families[0]]
        robustness = f"robustness ({METRIC_LABELS[panel['metric']]})"
        order = [*names, robustness] if panel.get("invariance_first") else [robustness, *names]
        fig.suptitle(f"{model_title(panel)}: {' | '.join(order)}{scale_line(plan)}", fontsize=9)
    else:
        fig.suptitle(f"{plan['name']}{scale_line(plan)}", fontsize=9)
    return fig, rows


def draw_perturbation_distance(plan: dict, evals: dict):
    """Figs 8-11, 19-20: accuracy with/without the attack on rotated/unrotated test | DeepFool distance."""
    panel = plan["panels"][0]
    eps = parse_epsilon(panel["epsilon"])
    attack = panel["attack"]
    thetas = [m["group"] for m in panel["models"]]
    rotated, unrotated = robustness_evaluation(panel, True), robustness_evaluation(panel, False)
    series = {
        "train+test rotated, no attack": (rotated, 0.0),
        f"train+test rotated, {attack.upper()} ε={eps:g}": (rotated, eps),
        f"train rotated, unrotated test, {attack.upper()} ε={eps:g}": (unrotated, eps),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    rows: list = []
    n = _seeds(panel["models"][0])
    for (label, (ev, at)), color in zip(series.items(), ("tab:blue", "tab:green", "tab:red")):
        values = np.stack([value_at(m, ev, evals, "epsilon", "accuracy", at) for m in panel["models"]], axis=1)
        _line(left, thetas, values.mean(0), values.std(0), n, color=color, label=label)
        _rows(rows, "accuracy", label, thetas, values.mean(0), values.std(0), n)
    for label, ev, color in (("unrotated test", spaced(panel, "deepfool"), "tab:red"),
                             ("test rotated ±θ", spaced(panel, "deepfool-rotated"), "tab:green")):  # fmt: skip
        values = np.stack([seed_values(m, ev, evals, lambda r: r["mean_l2"]) for m in panel["models"]], axis=1)
        _line(right, thetas, values.mean(0), values.std(0), n, color=color, label=label, scale=1.0)
        _rows(rows, "deepfool_mean_l2", label, thetas, values.mean(0), values.std(0), n)
    left.set(xlabel="training rotation range ±θ°", ylabel="accuracy (%)", xlim=(0, 180), ylim=(0, 101),
             title="accuracy")  # fmt: skip
    example = first_evaluation(panel, evals, unrotated)
    units = SPACE_LABELS[space_of(example)].split(" (")[0]
    right.set(xlabel="training rotation range ±θ°", ylabel=f"mean ℓ2 DeepFool perturbation ({units})",
              xlim=(0, 180), title="average perturbation distance")  # fmt: skip
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.suptitle(f"{model_title(panel)}, trained with random rotations in [−θ°, θ°]\n"
                 f"{attack_label(example)} at ε={eps:g}; DeepFool (ℓ2, {units}){scale_line(plan)}",
                 fontsize=9)  # fmt: skip
    return fig, rows


def draw_rotated_robustness(plan: dict, evals: dict):
    """Figs 12-18: robustness profiles on rotated (by the training range) or unrotated test data."""
    panels = plan["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for k, (ax, panel) in enumerate(zip(axes[0], panels)):
        ev = robustness_evaluation(panel)
        colors = _colors([m["group"] for m in panel["models"]])
        for model in panel["models"]:
            x, mean, std = profile(model, ev, evals, "epsilon", panel["metric"])
            _line(ax, x, mean, std, _seeds(model), color=colors[model["group"]], label=f"{model['group']:g}")
            _rows(rows, f"{k + 1}:{ev}:{panel['metric']}", f"{model['group']:g}", x, mean, std, _seeds(model))
        test = "train and test rotated ±θ" if panel["test"] == "rotated" else "train rotated ±θ, test unrotated"
        example = first_evaluation(panel, evals, ev)
        ax.set(ylabel=f"{METRIC_LABELS[panel['metric']]} (%)", **robustness_axes(example),
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


def _paper_rows(panel: dict, table: dict) -> dict:
    """The paper's numbers of a table keyed by (dataset, arch), when the panel is computed on those."""
    on_paper_setup = (panel["dataset"], panel["arch"]) == (panel["paper_dataset"], panel["paper_arch"])
    return table.get((panel["dataset"], panel["arch"]), {}) if on_paper_setup else {}


def pareto_optimal(points: list[tuple[float, float]]) -> list[bool]:
    """Whether each (a, b) point is on the Pareto frontier (maximising both): no other point is at
    least as good in both and better in one."""
    return [not any(c >= a and d >= b and (c > a or d > b) for c, d in points) for a, b in points]


def cusp_rows_stats(plan: dict, evals: dict) -> tuple[dict, list[dict]]:
    """Per row of a cusp table: PGD accuracy at the table's ε, standard accuracy, spatial accuracy
    (random rotations in ±rotation°), as (mean, std) over seeds in percent; Pareto optimality of
    (PGD, spatial) means among the rows."""
    panel = plan["panels"][0]
    eps, theta = parse_epsilon(panel["epsilon"]), float(panel.get("rotation", 180))
    stats = []
    for model in panel["models"]:
        adv = 100 * value_at(model, robustness_evaluation(panel, False, "pgd"), evals, "epsilon", "accuracy", eps)
        std = 100 * seed_values(model, "clean", evals, lambda r: r["accuracy"])
        spatial = 100 * value_at(model, "invariance-rotation", evals, "theta", "accuracy", theta)
        stats.append({"index": model["group"], "label": model["label"], "recipe": model["recipe"],
                      "seeds": len(adv), **{k: (v.mean(), v.std()) for k, v in
                                            (("adv", adv), ("std", std), ("spatial", spatial))}})  # fmt: skip
    for row, optimal in zip(stats, pareto_optimal([(r["adv"][0], r["spatial"][0]) for r in stats])):
        row["pareto"] = optimal
    return panel, stats


def _cusp_axes_labels(panel: dict, evals: dict) -> tuple[str, str]:
    eps, theta = epsilon_label(parse_epsilon(panel["epsilon"])), f"{float(panel.get('rotation', 180)):g}"
    example = first_evaluation(panel, evals, robustness_evaluation(panel, False, "pgd"))
    return f"{attack_label(example)} accuracy at ε={eps} (%)", f"spatial accuracy, rotations in ±{theta}° (%)"


def _frontier(ax, pts: list[tuple[float, float]], **kw) -> None:
    front = sorted(p for p, ok in zip(pts, pareto_optimal(pts)) if ok)
    ax.plot([p[0] for p in front], [p[1] for p in front], ls="--", lw=1, **kw)


def is_cusp(recipe: str) -> bool:
    """Whether the last stage of a recipe trains with CuSP (its `cusp` token; not `schedcusp`)."""
    return "cusp" in split_stages(recipe)[1].split("-")


def draw_pareto(plan: dict, evals: dict):
    """Paper 001 Fig 6: PGD accuracy vs spatial accuracy of every row of a cusp table (row numbers as
    labels), the Pareto frontier of the rows, and a zoom on the CuSP rows."""
    panel, stats = cusp_rows_stats(plan, evals)
    y_label, x_label = _cusp_axes_labels(panel, evals)
    paper = _paper_rows(panel, PAPER_CUSP_TABLE1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    rows: list = []
    cusp = [r for r in stats if is_cusp(r["recipe"])]
    for ax, subset, title in ((axes[0], stats, "all strategies"), (axes[1], cusp or stats, "CuSP variants")):
        pts = [(r["spatial"][0], r["adv"][0]) for r in subset]
        for r, (x, y) in zip(subset, pts):
            color = "tab:red" if is_cusp(r["recipe"]) else "tab:blue"
            ax.errorbar(x, y, xerr=r["spatial"][1], yerr=r["adv"][1], fmt="o", ms=4, color=color, capsize=2)
            ax.annotate(str(r["index"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        _frontier(ax, [(r["spatial"][0], r["adv"][0]) for r in stats], color="k", label="Pareto frontier (ours)")
        if paper:
            ppts = [(v[2][0], v[0][0]) for v in paper.values()]
            ax.scatter(*zip(*ppts), marker="x", s=14, color="0.6", label="paper (Table 1)")
        ax.set(xlabel=x_label, ylabel=y_label, title=title)
        ax.legend(fontsize=7)
    if cusp:  # zoom: the CuSP points with a margin
        xs, ys = [r["spatial"][0] for r in cusp], [r["adv"][0] for r in cusp]
        pad_x, pad_y = max(2.0, 0.15 * (max(xs) - min(xs))), max(2.0, 0.15 * (max(ys) - min(ys)))
        axes[1].set(xlim=(min(xs) - pad_x, max(xs) + pad_x), ylim=(min(ys) - pad_y, max(ys) + pad_y))
    for r in stats:
        for key in ("adv", "spatial", "std"):
            _rows(rows, key, f"{r['index']}: {r['label']}", "", r[key][0] / 100, r[key][1] / 100, r["seeds"])
        rows.append(["pareto_optimal", f"{r['index']}: {r['label']}", "", str(r["pareto"]), "", r["seeds"]])
    fig.suptitle(f"{model_title(panel)}: adversarial vs spatial accuracy of the training strategies "
                 f"(red: CuSP){scale_line(plan)}", fontsize=9)  # fmt: skip
    return fig, rows


def _epoch_seconds(evaluation: dict) -> float:
    """Mean training time per epoch of the checkpoint an evaluation file was computed on."""
    history = evaluation.get("training_history") or []
    if not history:
        raise ValueError(f"evaluation {evaluation['evaluation']} of {evaluation['recipe']} records no training history; "
                         f"rerun it")  # fmt: skip
    return float(np.mean([h["seconds"] for h in history]))


def draw_spatial_runtime(plan: dict, evals: dict):
    """Paper 004's runtime comparison: worst-case (grid) accuracy vs mean training time per epoch, one
    point per model; columns sharing a label (worst-of-k for k = 1, 10, 20) are joined by a line."""
    panels = plan["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for ax, panel in zip(axes[0], panels):
        attack = next(iter(panel["models"][0]["evals"].values()))
        attack = next(iter(attack)).removeprefix("spatial-")
        labels = list(dict.fromkeys(m["label"] for m in panel["models"]))
        palette = dict(zip(labels, sns.color_palette("tab10", len(labels))))
        for label in labels:
            pts = []
            for m in (m for m in panel["models"] if m["label"] == label):
                secs = np.asarray([_epoch_seconds(evals[by_ev[f"spatial-{attack}"]]) for by_ev in m["evals"].values()])
                acc = 100 * seed_values(m, f"spatial-{attack}", evals, lambda r: r["accuracy"])
                pts.append((secs.mean(), acc.mean(), acc.std(), m["recipe"]))
                _rows(rows, dataset_title(panel), f"{label} [{m['recipe']}] seconds_per_epoch", "", secs.mean(),
                      secs.std(), len(secs))  # fmt: skip
                _rows(rows, dataset_title(panel), f"{label} [{m['recipe']}] {attack}_accuracy", "", acc.mean() / 100,
                      acc.std() / 100, len(acc))  # fmt: skip
            pts.sort()
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", ms=4,
                        capsize=2, color=palette[label], label=label, ls="-" if len(pts) > 1 else "none")  # fmt: skip
            for x, y, _, recipe in pts:
                ax.annotate(recipe, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=6)
        ax.set(xlabel="mean training time per epoch (s)", ylabel=f"{SPATIAL_ATTACK_LABELS.get(attack, attack)} "
               f"accuracy (%)", title=model_title(panel))  # fmt: skip
        ax.legend(fontsize=7)
    fig.suptitle(f"Worst-case spatial accuracy vs training cost (seconds per epoch from each checkpoint's training "
                 f"history: compare runs made on the same machine){scale_line(plan)}", fontsize=9)  # fmt: skip
    return fig, rows


def _snapshot_series(evaluation: dict) -> dict[str, list[tuple[int, float, float]]]:
    """{series: [(epoch, natural accuracy, attack success rate)]} of one snapshot-evaluation file."""
    out: dict[str, list] = {}
    for snap in evaluation["snapshots"]:
        r = snap["results"]
        if "norm" in r:  # pgd-linf / pgd-l2: one series per ε
            norm = "ℓ∞" if r["norm"] == "linf" else "ℓ2"
            for eps, asr in zip(r["epsilon"], r["attack_success_rate"]):
                name = f"{norm} PGD ε={epsilon_label(eps) if r['norm'] == 'linf' else f'{eps:g}'}"
                out.setdefault(name, []).append((snap["epoch"], r["clean_accuracy"], asr))
        else:
            out.setdefault(r["attack"], []).append((snap["epoch"], r["clean_accuracy"], r["attack_success_rate"]))
    return out


def draw_snapshot_asr(plan: dict, evals: dict):
    """Paper 003 Figs 1-2: attack success rate (ASR: fooled among the correctly classified) of each
    attack on the snapshots of one training run, against the epoch and against natural accuracy."""
    panels = plan["panels"]
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.2 * len(panels)), squeeze=False)
    rows: list = []
    for (ax_epoch, ax_acc), panel in zip(axes, panels):
        model = panel["models"][0]
        per_seed = [{name: pts for ev in by_ev.values() for name, pts in _snapshot_series(evals[ev]).items()}
                    for by_ev in model["evals"].values()]  # fmt: skip
        names = list(per_seed[0])
        palette = dict(zip(names, sns.color_palette("viridis", len(names))))
        for name in names:
            arr = np.asarray([seed[name] for seed in per_seed], dtype=float)  # seeds × snapshots × 3
            epochs, acc, asr = arr[0, :, 0], arr[:, :, 1].mean(0), arr[:, :, 2]
            _line(ax_epoch, epochs, asr.mean(0), asr.std(0), len(arr), color=palette[name], label=name)
            ax_acc.plot(100 * acc, 100 * asr.mean(0), marker="o", ms=3, color=palette[name], label=name)
            _rows(rows, f"{panel['recipe']} asr_vs_epoch", name, epochs, asr.mean(0), asr.std(0), len(arr))
            _rows(rows, f"{panel['recipe']} natural_accuracy_vs_epoch", name, epochs, acc, arr[:, :, 1].std(0), len(arr))
        ax_epoch.set(xlabel="epoch (snapshot)", ylabel="attack success rate (%)", ylim=(0, 101),
                     title=f"{model_title(panel)}, {panel['recipe']}")  # fmt: skip
        ax_acc.set(xlabel="natural accuracy of the snapshot (%)", ylabel="attack success rate (%)", ylim=(0, 101),
                   title="ASR vs natural accuracy")  # fmt: skip
        ax_epoch.legend(fontsize=7)
    fig.suptitle(f"Attack success rate over training (among correctly classified test images){scale_line(plan)}",
                 fontsize=9)  # fmt: skip
    return fig, rows


def draw_mix_sweep(plan: dict, evals: dict):
    """Paper 003 Fig 3: natural accuracy and accuracy under ℓ2 / ℓ∞ PGD of models trained on D_mix,
    against the fraction α of every batch taken from the robust dataset D_R."""
    panels = plan["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for ax, panel in zip(axes[0], panels):
        models = sorted(panel["models"], key=lambda m: m["group"])
        alphas = [m["group"] for m in models]
        seeds = _seeds(models[0])
        series = {"natural": np.stack([seed_values(m, "clean", evals, lambda r: r["accuracy"]) for m in models], 1)}
        for ev in (e for e in next(iter(models[0]["evals"].values())) if e.startswith("pgd-")):
            r0 = first_evaluation(panel, evals, ev)["results"]
            for i, eps in enumerate(r0["epsilon"]):
                name = f"ℓ∞ PGD ε={epsilon_label(eps)}" if r0["norm"] == "linf" else f"ℓ2 PGD ε={eps:g}"
                series[name] = np.stack([seed_values(m, ev, evals, lambda r, i=i: r["accuracy"][i]) for m in models], 1)
        palette = dict(zip(series, sns.color_palette("tab10", len(series))))
        for name, vals in series.items():
            _line(ax, alphas, vals.mean(0), vals.std(0), seeds, color=palette[name], label=name,
                  ls="--" if name == "natural" else "-")  # fmt: skip
            _rows(rows, dataset_title(panel), name, alphas, vals.mean(0), vals.std(0), seeds)
        ax.set(xlabel="mix ratio α (fraction of each batch from D_R)", ylabel="accuracy (%)", ylim=(0, 101),
               xlim=(-0.02, 1.02), title=model_title(panel))  # fmt: skip
        ax.legend(fontsize=7)
    fig.suptitle(f"Training on D_mix: natural and PGD accuracy vs α{scale_line(plan)}", fontsize=9)
    return fig, rows


FIGURES = {
    "rotation_tradeoff": draw_tradeoff,
    "spatial_tradeoff": draw_tradeoff,
    "adversarial_tradeoff": draw_tradeoff,
    "perturbation_distance": draw_perturbation_distance,
    "rotated_robustness": draw_rotated_robustness,
    "rotation_accuracy": draw_rotation_accuracy,
    "sample_size": draw_sample_size,
    "pareto": draw_pareto,
    "spatial_runtime": draw_spatial_runtime,
    "snapshot_asr": draw_snapshot_asr,
    "mix_sweep": draw_mix_sweep,
    "theorem2": draw_theorem2,
}


def write_csv(rows: list, header: list[str], out_csv: str) -> None:
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def title_text(fig) -> str:
    """A figure's titles, as drawn: the figure title, then each panel's (in order, without repeats)."""
    texts = [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)]
    return "\n".join(dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()))  # one line per title


def make_figure(plan: dict, out_pdf: str, out_png: str, out_csv: str) -> int:
    """Draw figure ``plan`` and write its PDF, PNG and CSV; returns the number of evaluation files read."""
    sns.set_theme(style="whitegrid", context="paper")
    evals = load_evaluations(plan)
    fig, rows = FIGURES[plan["kind"]](plan, evals)
    fig.tight_layout()
    text = title_text(fig)
    for out in (out_pdf, out_png):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        # the titles go into the file (the report's caption reads them: invrob.report); no creation date
        # in the PDF: the same numbers give the same file (kept reference figures too)
        metadata = ({"Title": plan["name"], "Subject": text, "CreationDate": None} if out.endswith(".pdf")
                    else {"Title": plan["name"], "Description": text})  # fmt: skip
        fig.savefig(out, dpi=150, metadata=metadata)
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
        angles = seed_values(model, spaced(panel, "principal-angles"), evals, lambda r: r["angles_deg"])
        n = len(angles)
        cells = [f"{m:.2f}" + (f" ± {sd:.2f}" if n > 1 else "") for m, sd in zip(angles.mean(0), angles.std(0))]
        rows.append([epsilon_label(model["group"]), *cells, str(n)])
    paper = PAPER_PRINCIPAL_ANGLES.get((panel["dataset"], panel["arch"]))
    if paper and (panel["dataset"], panel["arch"]) == (panel["paper_dataset"], panel["paper_arch"]):
        for eps, values in paper.items():
            rows.append([f"paper {epsilon_label(eps)}", *[f"{v:.2f}" for v in sorted(values)[:k]], ""])
    caption = (f"Principal angles (degrees, ascending) between the top-{k} right-singular subspaces of "
               f"{attack_label(example)} perturbations "
               f"at ε={epsilon_label(s['epsilon'])} "
               f"and of (rotated by {s['rotation_deg']:g}°) − original differences, {model_title(panel)}, "
               f"{example['test_images']} test images, one row per PGD-training ε"
               f"{'; ' + panel['scale_note'] if panel['scale_note'] else ''}.")  # fmt: skip
    return header, rows, caption


def _pm(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.2f}" + (f" ± {std:.2f}" if seeds > 1 else "")


def cusp_table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Paper 001 Table 1: adversarial (PGD), standard and spatial accuracy per training strategy,
    mean ± std over seeds, whether the row is Pareto-optimal in (PGD, spatial) among the rows, and
    the paper's numbers beside ours when the dataset and model are the paper's."""
    panel, stats = cusp_rows_stats(plan, evals)
    adv_label, spatial_label = _cusp_axes_labels(panel, evals)
    paper = _paper_rows(panel, PAPER_CUSP_TABLE1)
    header = ["#", "training method", adv_label, "standard accuracy (%)", spatial_label, "Pareto-optimal", "seeds"]
    if paper:
        header += ["paper adv (%)", "paper std (%)", "paper spatial (%)"]
    header.append("recipe")
    rows = []
    for r in stats:
        row = [str(r["index"]), r["label"], *(_pm(*r[k], r["seeds"]) for k in ("adv", "std", "spatial")),
               "yes" if r["pareto"] else "no", str(r["seeds"])]  # fmt: skip
        if paper:
            row += [_pm(*v, 2) for v in paper[r["label"]]] if r["label"] in paper else ["", "", ""]
        rows.append(row + [r["recipe"]])
    test_images = first_evaluation(panel, evals, "clean")["test_images"]
    attacked = first_evaluation(panel, evals, robustness_evaluation(panel, False, "pgd"))["test_images"]
    caption = (f"Training strategies of {model_title(panel)}: {adv_label.removesuffix(' (%)')} ({attacked} test "
               f"images), standard accuracy and {spatial_label.removesuffix(' (%)')} ({test_images} test images); "
               f"A → B: B trained from A's weights; CuSP steps θ and ε up at each learning-rate decay; mean ± std "
               f"over seeds{'; ' + panel['scale_note'] if panel['scale_note'] else ''}.")  # fmt: skip
    return header, rows, caption


SPATIAL_ATTACK_LABELS = {
    "grid775": "grid775 (±3 px × 5, ±30° × 31)", "grid135": "grid135 (±3 px × 3, ±30° × 15)",
    "grid775-10": "grid775, 10° (±3 px × 5, ±10° × 31)", "rot30": "rot30 (±30° × 31)", "rot10": "rot10 (±10° × 31)",
    "worst-of-k": "worst-of-k random (±3 px, ±30°)", "spgd": "S-PGD (±3 px, ±30°)",
}  # fmt: skip


# Paper 004 (poster table): standard and grid775 accuracy (%) per dataset and method, by column label
# (as config.yaml writes them); "G-ResNet" is G-ResNet44.  Shown beside ours at paper scale.
PAPER_004_TABLE = {
    "svhn": {"std": (95.48, 18.85), "D.A.": (93.97, 82.60), "D.A. + KL": (96.16, 90.69), "A.T.": (96.03, 90.35),
             "A.T. + KL": (96.14, 92.42), "A.T. + L2": (96.53, 92.55), "G-ResNet": (95.0, 84.90)},
    "cifar10": {"std": (92.11, 9.52), "D.A.": (89.93, 58.29), "D.A. + KL": (89.19, 73.32), "A.T.": (91.78, 70.97),
                "A.T. + KL": (89.82, 78.79), "A.T. + L2": (90.53, 77.06), "G-ResNet": (93.08, 71.64)},
    "cifar100": {"std": (70.23, 5.09), "D.A.": (66.62, 28.53), "D.A. + KL": (68.69, 48.69), "A.T.": (68.79, 38.21),
                 "A.T. + KL": (69.99, 53.70), "A.T. + L2": (67.11, 50.82)},
}  # fmt: skip


def _spatial_cell(model: dict | None, attack: str, key: str, evals: dict) -> str:
    if model is None:
        return "–"
    v = 100 * seed_values(model, f"spatial-{attack}", evals, lambda r: r[key])
    return _pm(v.mean(), v.std(), len(v))


def spatial_attacks_table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Papers 003/004: accuracy (%) of each model (column) under each worst-case spatial attack
    (row), one block of rows per panel (dataset): an image counts only if every transform the
    attack tries is classified correctly.  Columns are matched across panels by label; at paper
    scale the poster's numbers (paper 004) follow our rows where it reports the column."""
    labels = list(dict.fromkeys(m["label"] for panel in plan["panels"] for m in panel["models"]))
    header = ["dataset", "attack", *labels]
    rows, trained = [], {}
    for panel in plan["panels"]:
        by_label = {m["label"]: m for m in panel["models"]}
        for m in panel["models"]:
            trained.setdefault(m["label"], set()).add(f"{ARCH_TITLES.get(m['arch'], m['arch'])} {m['recipe']}")
        attacks = [ev.removeprefix("spatial-") for ev in next(iter(panel["models"][0]["evals"].values()))]
        name = dataset_title(panel)
        # every spatial evaluation records the clean accuracy of the images it attacked
        rows.append([name, "standard (no attack)", *(_spatial_cell(by_label.get(lb), attacks[0], "clean_accuracy", evals)
                                                       for lb in labels)])  # fmt: skip
        for attack in attacks:
            label = SPATIAL_ATTACK_LABELS.get(attack, attack)
            if attack == "worst-of-k":
                label = label.replace("-k", f"-{first_evaluation(panel, evals, 'spatial-worst-of-k')['settings']['k']}")
            rows.append([name, label, *(_spatial_cell(by_label.get(lb), attack, "accuracy", evals) for lb in labels)])
        paper = PAPER_004_TABLE.get(panel["dataset"]) if panel["dataset"] == panel["paper_dataset"] and \
            panel["archs"] == panel["paper_archs"] else None  # fmt: skip
        if paper and "grid775" in attacks and any(lb in paper for lb in labels):
            for i, what in enumerate(("standard (poster)", "grid775 (poster)")):
                rows.append([name, what, *(f"{paper[lb][i]:.2f}" if lb in paper else "–" for lb in labels)])
    example = first_evaluation(plan["panels"][0], evals)
    models = "; ".join(f"{lb}: {', '.join(sorted(trained[lb]))}" for lb in labels)
    notes = sorted({p["scale_note"] for p in plan["panels"] if p["scale_note"]})
    caption = (f"Accuracy (%) under worst-case spatial attacks ({example['test_images']} test images): an image "
               f"counts only if it and every transform of the attack are classified correctly; rotations about the "
               f"centre then translations, zero padding, bilinear interpolation; mean ± std over seeds. Models: "
               f"{models}{'; ' + '; '.join(notes) if notes else ''}.")  # fmt: skip
    return header, rows, caption


TABLES = {"principal_angles": principal_angles_table, "cusp": cusp_table, "spatial_attacks": spatial_attacks_table}


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


def make_table(plan: dict, out_csv: str, out_md: str, out_tex: str, out_html: str) -> int:
    evals = load_evaluations(plan)
    header, rows, caption = TABLES[plan["kind"]](plan, evals)
    write_csv(rows, header, out_csv)
    Path(out_md).write_text(_markdown(header, rows, caption))
    Path(out_tex).write_text(_latex(header, rows, caption))
    Path(out_html).write_text(html_table(header, rows, caption, plan["name"]))
    return len(evals)
