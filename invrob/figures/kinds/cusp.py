"""Paper 001 Table 1: adversarial, standard and spatial accuracy of the training strategies (CuSP and baselines)."""

from __future__ import annotations

from ..plan import robustness_evaluation
from ..read import first_evaluation
from ..style import _pm, model_title
from ._cusp import (  # noqa: F401  (check, models: the table's rows, shared with kind pareto)
    _cusp_axes_labels,
    check,
    cusp_rows_stats,
    models,
    paper_table1,
)

SECTION = "tables"
DOC = "adversarial / standard / spatial accuracy of training strategies, mean ± std (paper 001 Table 1)"


def table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Paper 001 Table 1: adversarial (PGD), standard and spatial accuracy per training strategy,
    mean ± std over seeds, whether the row is Pareto-optimal in (PGD, spatial) among the rows, and
    the paper's numbers beside ours when the dataset and model are the paper's."""
    panel, stats = cusp_rows_stats(plan, evals)
    adv_label, spatial_label = _cusp_axes_labels(panel, evals)
    paper = paper_table1(panel)
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
