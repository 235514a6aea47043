"""The claims scoreboard (``tables/claims.{md,csv}``): the papers' quantitative statements, kept as
data in ``config/claims.yaml``, each checked against this folder's evaluation files.

A claim names the paper, where it says it, a verbatim quote, and what to measure with *selectors*
into the figures and tables of the config (``target``, ``panel``, ``model``, ``evaluation``, ``x``,
``y``; see ``config/claims.yaml``'s header).  A selector reads the same evaluation files the
target reads, so a claim about Fig 1 is judged on exactly the numbers Fig 1 plots (in its ε space).

Types and verdicts:

* ``level``: one number against the paper's (``>``, ``<`` or ``≈`` within ``tolerance``).  Judged only
  at paper scale where the panel's dataset and model are the paper's: at a reduced scale, under a
  stand-in, or where the claim says ``stand_in:`` (the paper's model is unknown), ``not judged``.
* ``trend``: the values over the models of a panel in the plan's order (training θ, ε, α, …) rise or
  fall: Spearman's ρ between position and value at least ``min_rho`` (default 0.5) in the claimed
  direction, and the last model beyond the first.  Judged at any scale.
* ``compare``: value ``a`` above (or below) value ``b`` by more than ``margin`` (default 0).  Judged at
  any scale, unless the claim says ``judged_at: paper`` (a band around the paper's own numbers).
  Paper 001's simulated theory (figures of kind theorem2) is the same at every scale: its levels are
  judged at every scale.

``not built``: an evaluation file a claim needs does not exist (yet) in this folder; ``not measured``:
this config does not measure it (a panel, model, evaluation or grid point absent at this scale).
The table is built from whatever evaluations exist, plus the ones this run builds (``claim_inputs``).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Callable

import yaml

from .evaluation import names as evaluation_names
from .evaluation.names import split_space
from .units import parse_epsilon

CLAIM_TYPES = ("level", "trend", "compare")
OPERATORS = (">", "<", "≈")
# evaluation roles a selector may name; `robustness[-rotated]` is the panel's attack, in its ε space
ROLE_X_KEYS = ("epsilon", "theta", "range")
CUSP_VALUES = ("adv", "std", "spatial", "pareto")
RESULT_KEYS = ("accuracy", "one_minus_fooling_rate", "invariance", "mean_l2", "median_l2", "angles_deg",
               "attack_success_rate", "clean_accuracy",
               # paper 001 §3 simulated (evaluation theorem2, invrob.simulation)
               "bayes_accuracy", "bayes_transformed_accuracy", "bayes_cross_accuracy", "code_relative_distance",
               "theorem2_slack")  # fmt: skip
REDUCE = {"min": min, "max": max, "mean": lambda v: sum(v) / len(v)}
OVER_SNAPSHOTS = {**REDUCE, "last": lambda v: v[-1]}
VERDICTS = ("holds", "fails", "not judged", "not measured", "not built")
CSV_HEADER = ["id", "paper", "where", "type", "quote", "quantity", "paper_value", "tolerance", "ours", "verdict",
              "detail", "scale"]  # fmt: skip


class ClaimError(ValueError):
    pass


class NotBuilt(Exception):
    """An evaluation file a claim needs does not exist in this folder (yet)."""


class NotMeasured(Exception):
    """This config does not measure what a claim needs (a panel, model, evaluation or grid point)."""


# --------------------------------------------------------------------------- reading and checking


def load_claims(path: str | Path) -> list[dict]:
    """The claims of ``path``, checked for shape (not yet against a config)."""
    try:
        claims = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C if built
    except (OSError, yaml.YAMLError) as exc:
        raise ClaimError(f"{path}: cannot read the claims ({exc})") from None
    if not isinstance(claims, list) or not claims:
        raise ClaimError(f"{path}: expected a non-empty list of claims")
    seen = set()
    for i, claim in enumerate(claims):
        where = f"{path}: claim {i + 1}" + (f" ('{claim.get('id')}')" if isinstance(claim, dict) else "")
        _check_shape(claim, where)
        if claim["id"] in seen:
            raise ClaimError(f"{where}: the id is used twice; give every claim its own id")
        seen.add(claim["id"])
    return claims


def _check_shape(claim, where: str) -> None:
    if not isinstance(claim, dict):
        raise ClaimError(f"{where}: a claim is a mapping (id, paper, where, quote, type, …)")
    missing = [k for k in ("id", "paper", "where", "quote", "type", "expect") if k not in claim]
    if missing:
        raise ClaimError(f"{where}: missing {', '.join(missing)}")
    kind = claim["type"]
    if kind not in CLAIM_TYPES:
        raise ClaimError(f"{where}: type '{kind}' is not one of {', '.join(CLAIM_TYPES)}")
    needs = {"level": ("value",), "trend": ("series",), "compare": ("a", "b")}[kind]
    for key in needs:
        if not isinstance(claim.get(key), dict) or "target" not in claim[key]:
            raise ClaimError(f"{where}: a {kind} claim needs '{key}' with at least a 'target'")
    expect = claim["expect"]
    if kind == "trend":
        if expect not in ("increasing", "decreasing"):
            raise ClaimError(f"{where}: a trend expects 'increasing' or 'decreasing', not {expect!r}")
        return
    if not isinstance(expect, dict) or expect.get("op") not in OPERATORS:
        raise ClaimError(f"{where}: expect needs op: one of {' '.join(OPERATORS)}")
    if kind == "level" and "value" not in expect:
        raise ClaimError(f"{where}: a level claim's expect needs the paper's 'value'")
    if expect["op"] == "≈" and "tolerance" not in expect:
        raise ClaimError(f"{where}: '≈' needs a tolerance (absolute, in the quantity's units)")
    if kind == "compare" and expect["op"] == "≈":
        raise ClaimError(f"{where}: a compare claim expects '>' or '<'")


def selectors(claim: dict) -> list[dict]:
    return [claim[k] for k in ("value", "series", "a", "b") if k in claim]


def targets_of(claims: list[dict]) -> list[str]:
    """The figures and tables the claims read, in order."""
    return list(dict.fromkeys(sel["target"] for claim in claims for sel in selectors(claim)))


def check_claims(plans: dict, claims: list[dict], configured: set[str]) -> None:
    """Every selector names a target of the config (``configured``) and a known evaluation.  At a
    reduced scale a panel, model or evaluation may be absent: that is 'not built', not an error."""
    for claim in claims:
        where = f"claim '{claim['id']}'"
        for sel in selectors(claim):
            if sel["target"] not in configured:
                raise ClaimError(f"{where}: no figure or table '{sel['target']}' in the config")
            _check_keys(sel, where)
            try:
                _panel(plans[sel["target"]], sel)
            except NotMeasured:
                continue
            if sel.get("evaluation") == "cusp":
                if plans[sel["target"]]["kind"] != "cusp" or sel.get("y") not in CUSP_VALUES:
                    raise ClaimError(f"{where}: evaluation 'cusp' reads a cusp table; its y is one of "
                                     f"{', '.join(CUSP_VALUES)}")  # fmt: skip
                continue
            role = sel.get("evaluation", "clean")
            if role not in known_roles():
                raise ClaimError(f"{where}: unknown evaluation '{role}'; known: {', '.join(sorted(known_roles()))}")


def _check_keys(sel: dict, where: str) -> None:
    y = sel.get("y", "accuracy")
    known = CUSP_VALUES if sel.get("evaluation") == "cusp" else RESULT_KEYS
    if y not in known:
        raise ClaimError(f"{where}: y '{y}' is not one of {', '.join(known)}")
    for key, options in (("reduce", REDUCE), ("over_snapshots", OVER_SNAPSHOTS)):
        if key in sel and sel[key] not in options:
            raise ClaimError(f"{where}: {key} '{sel[key]}' is not one of {', '.join(options)}")


def known_roles() -> set[str]:
    """The evaluations a selector may name: every evaluation (without its ε-space suffix), the panel's
    attack as ``robustness`` / ``robustness-rotated``, and ``cusp`` (a cusp table's row values)."""
    return {e.base for e in evaluation_names.known().values()} | {"robustness", "robustness-rotated", "cusp", "theorem2"}


# --------------------------------------------------------------------------- selectors


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
        from .figures.kinds._cusp import cusp_rows_stats

        evals = {f: self._load(f) for f in _panel_files(panel)}
        try:
            _, stats = cusp_rows_stats({"panels": [panel]}, evals)
        except ValueError as exc:  # the table's ε or θ is not on the evaluated grid
            raise NotMeasured(str(exc)) from None
        row = next((r for r in stats if r["index"] == _model(panel, sel["model"])["group"]), None)
        value = row[sel["y"]]
        return float(value) if sel["y"] == "pareto" else float(value[0]) / 100


# --------------------------------------------------------------------------- verdicts


def spearman(values: list[float]) -> float:
    """Spearman's rank correlation between position (0, 1, …) and ``values`` (average ranks for ties)."""
    n = len(values)
    order = sorted(range(n), key=lambda i: values[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    mean = (n - 1) / 2
    cov = sum((p - mean) * (r - mean) for p, r in enumerate(ranks))
    var_p = sum((p - mean) ** 2 for p in range(n))
    var_r = sum((r - mean) ** 2 for r in ranks)
    return cov / math.sqrt(var_p * var_r) if var_p and var_r else float("nan")


def _describe(sel: dict) -> str:
    parts = [sel["target"]]
    if "panel" in sel:
        panel = sel["panel"]
        parts.append(f"panel {'/'.join(map(str, panel.values())) if isinstance(panel, dict) else panel}")
    if "model" in sel:
        parts.append(f"model {sel['model']}")
    parts.append(sel.get("evaluation", "clean"))
    if "x" in sel:
        parts.append(f"x={sel['x']}")
    parts.append(sel.get("y", "accuracy") + (f" ({sel['reduce']})" if "reduce" in sel else ""))
    return ", ".join(str(p) for p in parts)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def judge(claim: dict, reader: Reader) -> dict:
    """One row of the scoreboard: the claim, our value and the verdict."""
    kind, expect = claim["type"], claim["expect"]
    row = {"id": claim["id"], "paper": str(claim["paper"]), "where": claim["where"], "type": kind,
           "quote": " ".join(str(claim["quote"]).split()), "tolerance": "", "detail": ""}  # fmt: skip
    try:
        if kind == "level":
            row["quantity"] = _describe(claim["value"])
            row["paper_value"] = f"{expect['op']} {expect['value']}"
            row["tolerance"] = str(expect.get("tolerance", ""))
            value, stand_in = reader.value(claim["value"])
            row["ours"] = _fmt(value)
            why = (stand_in or claim.get("stand_in")
                   or (f"{reader.scale} scale" if reader.scale != "paper" and not reader.scale_free(claim["value"])
                       else ""))  # fmt: skip
            if why:
                return {**row, "verdict": "not judged", "detail": f"level claims need the paper's scale and setup: {why}"}
            target = float(expect["value"])
            ok = {">": value > target, "<": value < target, "≈": abs(value - target) <= float(expect.get("tolerance", 0))}
            return {**row, "verdict": "holds" if ok[expect["op"]] else "fails"}
        if kind == "trend":
            row["quantity"] = _describe(claim["series"])
            row["paper_value"] = expect
            min_rho = float(claim.get("min_rho", 0.5))
            row["tolerance"] = f"ρ {'≥' if expect == 'increasing' else '≤ −'}{min_rho:g}"
            points = reader.series(claim["series"])
            values = [v for _, v in points]
            rho = spearman(values) if len(values) > 1 else float("nan")
            row["ours"] = f"ρ = {rho:+.2f}; " + " → ".join(_fmt(v) for v in values)
            row["detail"] = "over " + ", ".join(str(g) for g, _ in points)
            sign = 1 if expect == "increasing" else -1
            ok = not math.isnan(rho) and sign * rho >= min_rho and sign * (values[-1] - values[0]) > 0
            return {**row, "verdict": "holds" if ok else "fails"}
        # compare
        row["quantity"] = f"{_describe(claim['a'])} {expect['op']} {_describe(claim['b'])}"
        margin = float(expect.get("margin", 0))
        row["paper_value"] = f"a {expect['op']} b"
        row["tolerance"] = f"margin {margin:g}" if margin else ""
        (a, _), (b, _) = reader.value(claim["a"]), reader.value(claim["b"])
        row["ours"] = f"{_fmt(a)} vs {_fmt(b)}"
        if claim.get("judged_at") == "paper" and reader.scale != "paper":  # a band of the paper's own numbers
            return {**row, "verdict": "not judged",
                    "detail": f"judged_at: paper (the paper's numbers, not a direction): {reader.scale} scale"}  # fmt: skip
        ok = a > b + margin if expect["op"] == ">" else a < b - margin
        return {**row, "verdict": "holds" if ok else "fails"}
    except NotBuilt as exc:
        return {**row, "ours": row.get("ours", ""), "verdict": "not built", "detail": str(exc)}
    except NotMeasured as exc:
        return {**row, "ours": row.get("ours", ""), "verdict": "not measured", "detail": str(exc)}
    except ClaimError as exc:
        raise ClaimError(f"config/claims.yaml: claim '{claim['id']}': {exc}") from None


# --------------------------------------------------------------------------- the rule's inputs and outputs


def requested_targets(config: dict, requested, subsets: Callable = lambda section: ()) -> set[tuple[str, str]]:
    """(name, section) of the figures and tables a Snakemake run builds: all of them under `all` (or no
    target); ``subsets(section)``: the other names a target may take there (``NAME-DATASET``)."""
    requested = set(requested or ())
    names = {(n, s) for s in ("figures", "tables") for n in (config.get(s) or {})}
    if not requested or "all" in requested:
        return names
    out = set()
    for target in requested:
        section, _, file = str(target).partition("/")
        if section in ("figures", "tables"):
            out.add((file.rsplit(".", 1)[0], section))
    return {(n, s) for n, s in out if (n, s) in names or n in subsets(s)}


def claim_inputs(plans: dict, claims: list[dict], building: set[str],
                 exists: Callable = os.path.exists) -> list[str]:  # fmt: skip
    """The evaluation files the scoreboard reads: those that exist, and those this run builds
    (``building``: the files of the targets it was asked for), so that `all` judges what it has just built."""
    reader = Reader(plans, read=lambda p: {}, exists=exists)
    files: dict[str, None] = {}
    for claim in claims:
        for sel in selectors(claim):
            for f in reader.files(sel):
                if f in building or exists(f):
                    files[f] = None
    return list(files)


def scoreboard(plans: dict, claims: list[dict], scale: str, read: Callable,
               exists: Callable = os.path.exists) -> list[dict]:  # fmt: skip
    """Every claim judged on the evaluation files of ``plans`` that exist."""
    reader = Reader(plans, read, exists, scale)
    return [{**judge(claim, reader), "scale": scale} for claim in claims]


def summary(rows: list[dict]) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return f"{len(rows)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items())


def write_scoreboard(rows: list[dict], out_csv: str, out_md: str, scale: str, out_html: str | None = None) -> None:
    """The scoreboard as CSV, Markdown and (for the report) HTML."""
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, CSV_HEADER)
        writer.writeheader()
        writer.writerows(rows)

    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    caption = (f"Claims of papers 000, 001, 003 and 004 checked at {scale} scale — {summary(rows)}. "
               "Level claims are judged only at paper scale on the paper's dataset and model; trends and comparisons "
               "at any scale; 'not measured': this config does not measure it (a model, evaluation or grid point "
               "absent at this scale); 'not built': an evaluation it needs does not exist in this folder yet.")  # fmt: skip
    header = ["claim", "paper", "where", "quote", "quantity", "paper", "ours", "verdict"]
    table = []
    for r in rows:
        paper = r["paper_value"] + (f" (± {r['tolerance']})" if r["tolerance"] and r["type"] == "level" else "")
        verdict = r["verdict"] + (f": {r['detail']}" if r["verdict"] not in ("holds", "fails") else "")
        table.append([r["id"], r["paper"], r["where"], r["quote"], r["quantity"], paper, r["ours"], verdict])
    lines = [f"**{caption}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table]
    Path(out_md).write_text("\n".join(lines) + "\n")
    if out_html:
        from .report import html_table

        Path(out_html).write_text(html_table(header, table, caption, "claims"))
