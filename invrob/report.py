"""What ``snakemake --report report.html`` shows: every figure and table a run built, grouped by paper
(category) and figure or table number (subcategory), each with a caption, and a front page with the
claims scoreboard and how the run was made.

A caption is made of what the result already says, never a second copy of it: the titles the figure
job drew (kept in the PNG's ``Description``, see ``figures.render.make_figure``) or the table's caption
(the first line of its Markdown), the kind's description (its module's ``DOC``), the scale, and the rows of ``tables/claims.csv`` whose claims read this target:
the paper's statement and our verdict.  Captions and the front page are computed when the report is
made (``rst()`` of a ``Caption`` or ``FrontPage``, called by the report's Jinja templates in
``report/``), so a new verdict never reruns a figure: Snakemake keeps such params out of its rerun
triggers (they are not plain values; tests/test_report.py pins that).  The job scripts unpickle them,
so this module must stay importable from the workflow folder (Snakefile puts it on ``sys.path``).
"""

from __future__ import annotations

import csv
import html
import json
import platform
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# the papers, by the number the target names use
PAPERS = {
    "000": "Kamath, Deshpande, Subrahmanyam: Invariance vs. Robustness of Neural Networks",
    "001": "Kamath et al.: Can we have it all? On the Trade-off between Spatial and Adversarial Robustness",
    "003": "Wang, Horne: Understanding (Non-)Robust Feature Disentanglement",
    "004": "Yang, Wang, Heinze-Deml: Invariance-inducing regularization using worst-case transformations",
}
# targets whose name does not say their paper and number (figN / tableN: paper 000; pNNN_figN, pNNN_…)
NAMED = {
    "cusp_table1": ("001", "Table 1"),
    "spatial_attacks_mnist": ("003", "Spatial attacks on MNIST (papers 003 and 004)"),
    "p004_table": ("004", "Table"),
    "p003_table1": ("003", "Table 1"),
    "p001_theorem2": ("001", "§3, Proposition 1 and Theorem 2 (simulated)"),
    "p001_tiny_spatial": ("001", "App. I, Tiny ImageNet (spatial sweeps)"),
    "p001_tiny_adversarial": ("001", "App. I, Tiny ImageNet (adversarial sweep)"),
    "p004_runtime": ("004", "Runtime comparison"),
}
SCOREBOARD_CATEGORY = "Claims scoreboard"
PACKAGES = ("torch", "torchvision", "numpy", "snakemake", "matplotlib")
FORMAT_LABELS = {"png": "figure", "pdf": "figure (PDF)", "csv": "data (CSV)", "html": "table",
                   "tex": "table (LaTeX)", "md": "table (Markdown)"}  # fmt: skip


def paper_reference(name: str) -> tuple[str | None, str]:
    """(paper number, figure or table label) of a target: ``fig12`` → ('000', 'Fig 12'), ``p003_fig1_2``
    → ('003', 'Figs 1–2'), ``fig12-fashion_mnist`` → ('000', 'Fig 12'); (None, name) when unknown."""
    base = split_name(name)[0]
    if base in NAMED:
        return NAMED[base]
    beyond = re.fullmatch(r"aa_(.+?)(_gap)?", base)  # a target's models under PGD and AutoAttack
    if beyond:
        paper, label = paper_reference(beyond.group(1))
        return paper, f"{label}, PGD vs AutoAttack" + (" (gap table)" if beyond.group(2) else "")
    m = re.fullmatch(r"(?:p(\d{3})_)?(fig|table)(\d+)(?:_(\d+))?", base)
    if not m:
        return None, base
    paper, what, first, last = m.groups()
    what = "Fig" if what == "fig" else "Table"
    label = f"{what}s {first}–{last}" if last else f"{what} {first}"
    return paper or "000", label


def category(name: str) -> str:
    paper, _ = paper_reference(name)
    return f"Paper {paper}: {PAPERS[paper]}" if paper in PAPERS else "Other results"


def subcategory(name: str) -> str:
    return paper_reference(name)[1]


def labels(name: str, path: str) -> dict:
    """The columns of a result in the report's listing: which target, which format."""
    ext = path.rsplit(".", 1)[-1]
    return {"target": name, "format": FORMAT_LABELS.get(ext, ext)}


# --------------------------------------------------------------------------- RST helpers


def rst_text(text: str) -> str:
    """Text shown as is in reStructuredText (no markup, line breaks kept by the caller)."""
    return re.sub(r"([\\`*_|\[\]<>])", r"\\\1", " ".join(str(text).split()))


def rst_lines(text: str) -> str:
    """A line block: every line of ``text`` on its own line."""
    return "\n".join(f"| {rst_text(line)}" for line in str(text).splitlines() if line.strip())


def _read_scoreboard(path: str | Path) -> list[dict] | None:
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        return None


def _verdict_item(row: dict) -> str:
    get = lambda key: row.get(key) or ""  # noqa: E731  (a scoreboard of an older version lacks columns)
    detail = f" ({rst_text(get('detail'))})" if get("verdict") not in ("holds", "fails") and get("detail") else ""
    ours = f"; ours: {rst_text(get('ours'))}" if get("ours") else ""
    return (f"- **{get('verdict')}**{detail} — “{rst_text(get('quote'))}” ({rst_text(get('where'))}; "
            f"claim ``{row['id']}``): expected {rst_text(get('paper_value'))}{ours}")  # fmt: skip


def claims_section(claim_ids: tuple[str, ...], scoreboard: str) -> str:
    """The paper's statements about a result and our verdicts, from the scoreboard's CSV."""
    if not claim_ids:
        return "No claim of the scoreboard (``config/claims.yaml``) reads this result."
    rows = _read_scoreboard(scoreboard)
    if rows is None:
        return (f"{len(claim_ids)} claim(s) of ``config/claims.yaml`` read this result; the scoreboard "
                f"``{scoreboard}`` is not built in this folder: build ``tables/claims.md`` to see the verdicts.")  # fmt: skip
    by_id = {r["id"]: r for r in rows}
    scale = next((r["scale"] for r in rows if r.get("scale")), "")
    items = [_verdict_item(by_id[i]) for i in claim_ids if i in by_id]
    head = f"**What the paper says, and our verdict** (``{scoreboard}``, {scale} scale):"
    return "\n".join([head, "", *items]) if items else "The scoreboard holds no row for this result's claims."


def split_name(name: str) -> tuple[str, str | None]:
    """``fig12-fashion_mnist`` → ('fig12', 'fashion_mnist'): the ``NAME-DATASET`` of a panel target."""
    from .figures.plan import PANEL_SUBSET

    base, sep, dataset = name.rpartition(PANEL_SUBSET)
    return (base, dataset) if sep else (name, None)


def claims_about(claims: list[dict], plan: dict, whole: dict | None = None) -> tuple[str, ...]:
    """The ids of the claims that read target ``plan``; for ``NAME-DATASET`` (``plan`` of the whole
    figure: ``whole``), those whose panel is that dataset's."""
    from .claims import NotMeasured
    from .claims.load import selectors
    from .claims.read import _panel

    base, dataset = split_name(plan["name"])
    out = []
    for claim in claims:
        for sel in selectors(claim):
            if sel["target"] != base:
                continue
            if dataset:
                try:  # the selector's panel in the whole figure (a panel index counts the figure's panels)
                    if _panel(whole or plan, sel)["paper_dataset"] != dataset:
                        continue
                except NotMeasured:
                    continue
            out.append(claim["id"])
            break
    return tuple(out)


def _figure_titles(png: str) -> str:
    from PIL import Image

    try:
        with Image.open(png) as im:
            return im.text.get("Description") or "(drawn before figures kept their titles: rebuild it to see them)"
    except (FileNotFoundError, OSError):
        return ""


def _table_caption(md: str) -> str:
    try:
        first = Path(md).read_text().splitlines()[0]
    except (FileNotFoundError, IndexError):
        return ""
    return first.strip().removeprefix("**").removesuffix("**")


@dataclass(frozen=True, repr=False)
class Caption:
    """A result's caption in the report, computed when the report is made (``str()``)."""

    section: str  # figures | tables
    name: str
    kind: str
    description: str  # what the kind shows (the kind module's DOC)
    scale: str
    scale_notes: tuple[str, ...]
    claim_ids: tuple[str, ...]
    result: str  # the PNG (figures) or the Markdown (tables) whose titles the caption repeats
    scoreboard: str = "tables/claims.csv"

    def __repr__(self) -> str:  # what the report's "Job parameters" show
        return f"Caption({self.section}/{self.name})"

    def rst(self) -> str:
        paper, label = paper_reference(self.name)
        where = f"Paper {paper}, {label}" if paper else label
        dataset = split_name(self.name)[1]
        panel = f" (its ``{dataset}`` panels only)" if dataset else ""
        titles = _figure_titles(self.result) if self.section == "figures" else _table_caption(self.result)
        scale = "; ".join(self.scale_notes) or (f"{self.scale} scale" if self.scale != "paper" else
                                                 "paper scale, the paper's settings")  # fmt: skip
        parts = [f"**{rst_text(where)}**{panel}: {rst_text(self.description)} (kind ``{self.kind}``).",
                 rst_lines(titles) if titles else "(not drawn yet)",
                 f"**Scale:** {rst_text(scale)}. Stand-ins, if any, are named in the titles (“for …”).",
                 claims_section(self.claim_ids, self.scoreboard)]  # fmt: skip
        return "\n\n".join(parts) + "\n"


def caption(config: dict, section: str, name: str, plan: dict, claims: list[dict], whole_plan=None) -> Caption:
    """The caption of figure or table ``name`` (cheap: nothing is read until the report asks);
    ``whole_plan(base)``: the plan of the whole figure a ``NAME-DATASET`` target is a panel of."""
    from . import paths
    from .figures import kinds

    result = paths.FIGURE.format(name=name, ext="png") if section == "figures" else paths.TABLE.format(name=name, ext="md")
    notes = tuple(sorted({p["scale_note"] for p in plan["panels"] if p.get("scale_note")}))
    base, dataset = split_name(name)
    whole = whole_plan(base) if dataset and whole_plan else None
    return Caption(section, name, plan["kind"], kinds.get(plan["kind"]).DOC,
                   config["scale"], notes, claims_about(claims, plan, whole), result)  # fmt: skip


# --------------------------------------------------------------------------- the front page


def _commit(folder: str) -> str:
    try:
        head = subprocess.run(["git", "-C", folder, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (the workflow folder is not a git checkout)"
    return head + (" with uncommitted changes" if dirty else "")


def _versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(out)


def _devices(evaluations: tuple[str, ...]) -> str:
    """Where the evaluation files the scoreboard read were computed (each file records its device)."""
    counts: dict[str, int] = {}
    for path in evaluations:
        try:
            device = json.loads(Path(path).read_text()).get("device", "not recorded")
        except (FileNotFoundError, ValueError):
            continue
        counts[device] = counts.get(device, 0) + 1
    return ", ".join(f"{d} ({n} file{'s' if n > 1 else ''})" for d, n in sorted(counts.items())) or "no evaluation file yet"


def _scoreboard_table(rows: list[dict]) -> str:
    """The judged claims (holds / fails) as an RST list table."""
    judged = [r for r in rows if r["verdict"] in ("holds", "fails")]
    if not judged:
        return "No claim could be judged on the results of this folder yet."
    def cell(text: str) -> str:  # `\ ` first: a cell never starts a list, an enumeration or a comment
        return "\\ " + rst_text(text)

    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 10 20 45 15 10", "",
             "   * - paper", "     - where", "     - the paper says", "     - ours", "     - verdict"]  # fmt: skip
    for r in sorted(judged, key=lambda r: (r["verdict"] != "fails", r["paper"], r["id"])):
        cells = [r["paper"], r["where"], f"“{r['quote']}” (expected {r['paper_value']})", r["ours"]]
        lines += [f"   * - {cell(cells[0])}", *(f"     - {cell(c)}" for c in cells[1:]),
                  f"     - **{r['verdict']}**"]  # fmt: skip
    return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class FrontPage:
    """The report's front page (``report/workflow.rst``), computed when the report is made."""

    configfiles: tuple[str, ...]
    scale: str
    folder: str  # the workflow folder (its commit)
    evaluations: tuple[str, ...] = field(default=())
    scoreboard: str = "tables/claims.csv"

    def __repr__(self) -> str:
        return f"FrontPage({self.scale} scale)"

    def rst(self) -> str:
        from .claims import VERDICTS

        rows = _read_scoreboard(self.scoreboard)
        made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        how = [f"- **config:** {', '.join(f'``{Path(c).name}``' for c in self.configfiles) or '``config.yaml``'}; "
               f"**scale:** {rst_text(self.scale)}",
               f"- **commit** (of the workflow folder when this report was made): ``{_commit(self.folder)}``",
               f"- **devices** (as the scoreboard's evaluation files record them): {rst_text(_devices(self.evaluations))}",
               f"- **packages** (where this report was made, {made}): {rst_text(_versions())}"]  # fmt: skip
        if rows is None:
            board = "The claims scoreboard was not built in this folder (``tables/claims.md``)."
        else:
            counts = ", ".join(f"{sum(r['verdict'] == v for r in rows)} {v}" for v in VERDICTS)
            board = "\n\n".join([f"**{len(rows)} claims of the papers:** {counts}. The judged ones, failures "
                                 f"first (every claim, with why the others are not judged: category "
                                 f"*{SCOREBOARD_CATEGORY}*):", _scoreboard_table(rows)])  # fmt: skip
        return "\n\n".join(["**How this run was made**", "\n".join(how), "**The claims scoreboard**", board,
                            "The results are under *Results*, by paper and figure or table number; each caption "
                            "says what the result shows, at which scale, and what the paper says about it."]) + "\n"  # fmt: skip


# --------------------------------------------------------------------------- tables as HTML


def html_table(header: list[str], rows: list[list[str]], caption: str, title: str) -> str:
    """A table as a standalone HTML page (the report shows it; the CSV and LaTeX sit beside it)."""
    esc = html.escape
    head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{esc(title)}</title><style>"
            "body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
            "th{background:#f0f0f0}caption{caption-side:top;text-align:left;padding:0 0 .5em;max-width:70em}"
            f"</style></head><body><table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>\n{body}\n</tbody></table></body></html>\n")  # fmt: skip
