"""Paper 001 Fig 6: PGD vs spatial accuracy of every row of a cusp table, and the rows' Pareto frontier."""

from __future__ import annotations

from ..style import _rows, model_title, scale_line, subplots
from ._cusp import (  # noqa: F401  (check, models: a pareto figure draws a cusp table's rows)
    _cusp_axes_labels,
    check,
    cusp_rows_stats,
    is_cusp,
    models,
    paper_table1,
    pareto_optimal,
)

SECTION = "figures"
DOC = "PGD accuracy vs spatial accuracy of the rows of a `cusp` table, Pareto frontier (paper 001 Fig 6)"


def _frontier(ax, pts: list[tuple[float, float]], **kw) -> None:
    front = sorted(p for p, ok in zip(pts, pareto_optimal(pts)) if ok)
    ax.plot([p[0] for p in front], [p[1] for p in front], ls="--", lw=1, **kw)


def draw(plan: dict, evals: dict):
    """Paper 001 Fig 6: PGD accuracy vs spatial accuracy of every row of a cusp table (row numbers as
    labels), the Pareto frontier of the rows, and a zoom on the CuSP rows."""
    panel, stats = cusp_rows_stats(plan, evals)
    y_label, x_label = _cusp_axes_labels(panel, evals)
    paper = paper_table1(panel)
    fig, axes = subplots(1, 2, figsize=(11, 4.8))
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
