"""A claim's selector → the files it reads and the number it names, from the same evaluation files (and
the same panel, model and grid point) the target reads."""

from __future__ import annotations

import math
import os
from typing import Callable

from ..evaluation.names import split_space
from ..units import parse_epsilon
from . import OVER_SNAPSHOTS, REDUCE, ROLE_X_KEYS, ClaimError, NotBuilt, NotMeasured


def _panel(plan: dict, sel: dict) -> dict:
    """The selected panel: an index, or a mapping matched against the panel's paper dataset/arch and keys."""
    choice = sel.get("panel", 0)
    panels = plan["panels"]
    if isinstance(choice, int):
        if choice >= len(panels):
            raise NotMeasured(f"{plan['name']} has {len(panels)} panel(s) here")
        return panels[choice]
    fields = {"dataset": "paper_dataset", "arch": "paper_arch"}
    for panel in panels:
        if all(panel.get(fields.get(k, k)) == v for k, v in choice.items()):
            return panel
    raise NotMeasured(f"{plan['name']} has no panel {choice} here")


def _same_group(group, wanted) -> bool:
    if isinstance(group, (int, float)) and not isinstance(wanted, bool):
        try:
            return math.isclose(float(group), parse_epsilon(wanted), abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return group == wanted


def _model(panel: dict, wanted) -> dict:
    """The panel's model whose group (θ, ε, α, …) or label is ``wanted``; cusp rows by their config label."""
    raw_labels = [row["label"] for row in panel.get("rows") or []]
    for i, model in enumerate(panel["models"]):
        if model.get("label") == wanted or (i < len(raw_labels) and raw_labels[i] == wanted):
            return model
        if "label" not in model and _same_group(model["group"], wanted):
            return model
    raise NotMeasured(f"no model {wanted!r} in this panel here")


def _evaluation_name(names: list[str], role: str) -> str | None:
    for name in names:
        base = split_space(name)[0]
        if base == role:
            return name
        if role in ("robustness", "robustness-rotated") and base.startswith("robustness-"):
            if base.endswith("-rotated") == (role == "robustness-rotated"):
                return name
    return None


def _seed_files(model: dict, role: str) -> list[str]:
    names = list(next(iter(model["evals"].values())))
    name = _evaluation_name(names, role)
    if name is None:  # e.g. a reduced config evaluates fewer attacks
        raise NotMeasured(f"this model is not evaluated with {role} here (it has {', '.join(names)})")
    return [by_ev[name] for by_ev in model["evals"].values()]


def _number(results: dict, sel: dict) -> float:
    y = sel.get("y", "accuracy")
    if y not in results:
        raise ClaimError(f"the evaluation has no result '{y}' (it has {', '.join(sorted(results))})")
    value = results[y]
    if "x" in sel:
        key = next((k for k in ROLE_X_KEYS if k in results), None)
        if key is None:
            raise ClaimError(f"'x' given, but the evaluation is not a profile over {'/'.join(ROLE_X_KEYS)}")
        grid = [float(v) for v in results[key]]
        x = parse_epsilon(sel["x"])
        hits = [i for i, g in enumerate(grid) if math.isclose(g, x, abs_tol=1e-9)]
        if not hits:
            raise NotMeasured(f"{key} = {x:g} is not on the evaluated grid {grid}")
        value = value[hits[0]]
    if isinstance(value, list):
        reduce = REDUCE.get(sel.get("reduce", ""))
        if reduce is None:
            raise ClaimError(f"'{y}' is a list: say reduce: min, max or mean")
        value = reduce(value)
    return float(value)


def _panel_files(panel: dict) -> list[str]:
    return [f for m in panel["models"] for by_ev in m["evals"].values() for f in by_ev.values()]


def _stand_in(panel: dict, model: dict | None) -> str:
    """'' when the panel (and model) are the paper's dataset and architecture, else what stands in."""
    arch, paper_arch = (model["arch"], model.get("paper_arch", panel["paper_arch"])) if model else \
        (panel["arch"], panel["paper_arch"])  # fmt: skip
    if (panel["dataset"], arch) == (panel["paper_dataset"], paper_arch):
        return ""
    return f"{arch} on {panel['dataset']} stands in for {paper_arch} on {panel['paper_dataset']}"


class Reader:
    """Selector values from the evaluation files of the targets' plans ({name: plan}; files read once)."""

    def __init__(self, plans: dict, read: Callable, exists: Callable = os.path.exists, scale: str = "paper"):
        self.plans, self.read, self.exists, self.scale = plans, read, exists, scale
        self.cache: dict[str, dict] = {}

    def panel(self, sel: dict) -> dict:
        if sel["target"] not in self.plans:
            raise NotMeasured(f"no target '{sel['target']}' in this config")
        return _panel(self.plans[sel["target"]], sel)

    def scale_free(self, sel: dict) -> bool:
        """Whether the selected panel's numbers do not depend on the scale (paper 001's theory, simulated)."""
        return bool(self.panel(sel).get("scale_free"))

    def files(self, sel: dict) -> list[str]:
        """The evaluation files a selector reads (for the rule's inputs), or [] when it resolves to nothing."""
        try:
            panel = self.panel(sel)
            if sel.get("evaluation") == "cusp":
                return _panel_files(panel)
            models = [_model(panel, sel["model"])] if "model" in sel else panel["models"]
            return [f for m in models for f in _seed_files(m, sel.get("evaluation", "clean"))]
        except NotMeasured:
            return []

    def value(self, sel: dict) -> tuple[float, str]:
        """(mean over seeds, stand-in note) of a single-model selector."""
        panel = self.panel(sel)
        if sel.get("evaluation") == "cusp":
            return self._cusp(panel, sel), _stand_in(panel, None)
        model = _model(panel, sel["model"])
        return self._mean(model, sel), _stand_in(panel, model)

    def series(self, sel: dict) -> list[tuple[object, float]]:
        """(group, mean over seeds) of every model of the panel, in the plan's order; for the snapshots
        of one training run (a snapshot_asr target) the snapshots in epoch order, ``(epoch, value)``."""
        panel = self.panel(sel)
        if "model" in sel:  # one training run's snapshots
            model = _model(panel, sel["model"])
            runs = [self._load(f).get("snapshots") for f in _seed_files(model, sel.get("evaluation", "clean"))]
            if any(r is None for r in runs):
                raise ClaimError("a series of one model reads its training snapshots (a snapshot_asr target)")
            return [(run["epoch"], sum(_number(r[i]["results"], sel) for r in runs) / len(runs))
                    for i, run in enumerate(runs[0])]  # fmt: skip
        return [(model.get("label", model["group"]), self._mean(model, sel)) for model in panel["models"]]

    def _mean(self, model: dict, sel: dict) -> float:
        """A model's value, mean over seeds; for a file of training snapshots, ``over_snapshots`` (mean,
        min, max or last, default mean) of its snapshots' values."""
        values = []
        for path in _seed_files(model, sel.get("evaluation", "clean")):
            data = self._load(path)
            if "snapshots" in data:
                per = [_number(run["results"], sel) for run in data["snapshots"]]
                values.append(OVER_SNAPSHOTS[sel.get("over_snapshots", "mean")](per))
            else:
                values.append(_number(data["results"], sel))
        return sum(values) / len(values)

    def _load(self, path: str) -> dict:
        if path not in self.cache:
            if not self.exists(path):
                raise NotBuilt(f"missing {path}")
            self.cache[path] = self.read(path)
        return self.cache[path]

    def _cusp(self, panel: dict, sel: dict) -> float:
        from ..figures.kinds._cusp import cusp_rows_stats

        evals = {f: self._load(f) for f in _panel_files(panel)}
        try:
            _, stats = cusp_rows_stats({"panels": [panel]}, evals, sel.get("attack", "pgd"))
        except ValueError as exc:  # the table's ε or θ is not on the evaluated grid
            raise NotMeasured(str(exc)) from None
        row = next((r for r in stats if r["index"] == _model(panel, sel["model"])["group"]), None)
        value = row[sel["y"]]
        return float(value) if sel["y"] == "pareto" else float(value[0]) / 100
