"""Verdicts, the claims rule's inputs, and the scoreboard it writes (``tables/claims.{csv,md,html}``)."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Callable

from ..evaluation import names
from . import CSV_HEADER, VERDICTS, ClaimError, NotBuilt, NotMeasured
from .load import selectors
from .read import Reader


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


ADVERSARIAL_ROLES = ("robustness", "robustness-rotated", *(names.success("pgd", n) for n in names.PGD_NORMS))
SECOND_ATTACK = "autoattack"


def second_evaluation(role: str) -> str:
    """The selector role of the same measure under AutoAttack: robustness[-rotated] → robustness-autoattack[-rotated]
    (a robustness profile read by role), pgd-{norm} → autoattack-{norm} (paper 003's success profile)."""
    if role.startswith("robustness"):
        return f"robustness-{SECOND_ATTACK}" + ("-rotated" if role.endswith("-rotated") else "")
    return names.success(SECOND_ATTACK, names.parse(role).variant)


def _compared(panel: dict) -> list[str]:
    """The attacks an attack_profiles / attack_gap panel compares (the first is the reference)."""
    return list(panel.get("attacks") or ["pgd", SECOND_ATTACK])


def _counterpart(plans: dict, target: str, source: dict, role: str) -> tuple[dict, int] | None:
    """(plan, panel index) that puts ``target``'s panel ``source`` under AutoAttack: a target whose source is
    ``target`` (a figure's attack_profiles, else a table's), by the panel's dataset and architecture; else
    any AutoAttack comparison with a panel of the same models, attacked first by the source's attack, on the
    same test data in the same ε space (Fig 19's StdCNNs under PGD are Fig 1's, compared in aa_fig1)."""
    found = [p for p in plans.values() if p.get("source") == target and SECOND_ATTACK in _compared(p["panels"][0])]
    if found:
        plan = min(found, key=lambda p: p["kind"] != "attack_profiles")  # a figure's first, as before
        return plan, next((i for i, p in enumerate(plan["panels"])
                           if (p["dataset"], p["arch"]) == (source["dataset"], source["arch"])), None)  # fmt: skip
    if role == "cusp":
        return None
    models = {(m["dataset"], m["arch"], m["recipe"]) for m in source["models"]}
    test = "rotated" if role.endswith("-rotated") else "unrotated"
    comparisons = sorted((p for p in plans.values() if p["kind"] in ("attack_profiles", "attack_gap")),
                         key=lambda p: (p["kind"] != "attack_profiles", p["name"]))  # fmt: skip
    for plan in comparisons:
        for i, panel in enumerate(plan["panels"]):
            attacks = _compared(panel)
            if (attacks[0] == source.get("attack") and SECOND_ATTACK in attacks and panel["test"] == test
                    and panel["epsilon_space"] == source["epsilon_space"]
                    and models <= {(m["dataset"], m["arch"], m["recipe"]) for m in panel["models"]}):  # fmt: skip
                return plan, i
    return None


def under_second_attack(claim: dict, plans: dict) -> dict | None:
    """The claim with every adversarial selector read from its target's AutoAttack counterpart (same panel,
    by dataset and model; same model, grid point and quantity), or None when no selector is adversarial.
    A selector with no counterpart raises ``NotMeasured``."""
    changed, out = False, dict(claim)
    for key in ("value", "series", "a", "b"):
        sel = claim.get(key)
        adversarial = sel is not None and (sel.get("evaluation") in ADVERSARIAL_ROLES
                                           or (sel.get("evaluation") == "cusp" and sel.get("y") in ("adv", "pareto")))  # fmt: skip
        if not adversarial:
            continue
        changed = True
        source = Reader(plans, read=lambda p: {}).panel(sel)
        found = _counterpart(plans, sel["target"], source, sel["evaluation"])
        if found is None:
            raise NotMeasured(f"no AutoAttack counterpart of {sel['target']} (a target with source: {sel['target']}, "
                              f"or one that compares the same models under {source.get('attack')} and AutoAttack)")  # fmt: skip
        twin, index = found
        if index is None:
            raise NotMeasured(f"{twin['name']} has no panel of {source['arch']} on {source['dataset']}")
        new = {**sel, "target": twin["name"], "panel": index}
        if sel["evaluation"] == "cusp":
            new["attack"] = SECOND_ATTACK
        else:  # the same measure, on the same test data (rotated by each model's training range, or not)
            new["evaluation"] = second_evaluation(sel["evaluation"])
        out[key] = new
    return out if changed else None


def judge_both(claim: dict, reader: Reader) -> dict:
    """``judge`` under the claim's own attack (PGD, FGSM), and for an adversarial claim under AutoAttack too
    (``ours_autoattack``, ``verdict_autoattack``; empty for the others)."""
    row = judge(claim, reader)
    try:
        second = under_second_attack(claim, reader.plans)
    except NotMeasured as exc:
        return {**row, "ours_autoattack": "", "verdict_autoattack": f"not measured: {exc}"}
    if second is None:
        return {**row, "ours_autoattack": "", "verdict_autoattack": ""}
    other = judge(second, reader)
    verdict = other["verdict"] + (f": {other['detail']}" if other["verdict"] not in ("holds", "fails") else "")
    return {**row, "ours_autoattack": other.get("ours", ""), "verdict_autoattack": verdict}


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
        try:
            second = under_second_attack(claim, plans)
        except NotMeasured:
            second = None
        for sel in selectors(claim) + (selectors(second) if second else []):
            for f in reader.files(sel):
                if f in building or exists(f):
                    files[f] = None
    return list(files)


def scoreboard(plans: dict, claims: list[dict], scale: str, read: Callable,
               exists: Callable = os.path.exists) -> list[dict]:  # fmt: skip
    """Every claim judged on the evaluation files of ``plans`` that exist."""
    reader = Reader(plans, read, exists, scale)
    return [{**judge_both(claim, reader), "scale": scale} for claim in claims]


def summary(rows: list[dict]) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    text = f"{len(rows)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items())
    judged = [r for r in rows if r.get("verdict_autoattack") in ("holds", "fails") and r["verdict"] in ("holds", "fails")]
    if judged:
        same = sum(r["verdict"] == r["verdict_autoattack"] for r in judged)
        text += (f"; of the {len(judged)} adversarial claims judged under both attacks, {same} get the same verdict "
                 f"under AutoAttack")  # fmt: skip
    return text


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
               "absent at this scale); 'not built': an evaluation it needs does not exist in this folder yet. An adversarial claim "
               "is judged again with AutoAttack in place of its attack, on the targets that put the same models under it.")  # fmt: skip
    header = ["claim", "paper", "where", "quote", "quantity", "paper", "ours", "verdict", "ours under AutoAttack",
              "verdict under AutoAttack"]  # fmt: skip
    table = []
    for r in rows:
        paper = r["paper_value"] + (f" (± {r['tolerance']})" if r["tolerance"] and r["type"] == "level" else "")
        verdict = r["verdict"] + (f": {r['detail']}" if r["verdict"] not in ("holds", "fails") else "")
        table.append([r["id"], r["paper"], r["where"], r["quote"], r["quantity"], paper, r["ours"], verdict,
                      r.get("ours_autoattack", ""), r.get("verdict_autoattack", "")])  # fmt: skip
    lines = [f"**{caption}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table]
    Path(out_md).write_text("\n".join(lines) + "\n")
    if out_html:
        from ..report import html_table

        Path(out_html).write_text(html_table(header, table, caption, "claims"))
