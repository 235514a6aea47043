"""Drawing a figure or table from its plan: the kind's ``draw`` / ``table``, then its files (PDF, PNG, CSV;
CSV, Markdown, LaTeX, HTML), each written from the same numbers."""

from __future__ import annotations

import csv
from pathlib import Path

from ..report import html_table
from . import kinds
from .read import load_evaluations
from .style import pyplot

CSV_HEADER = ["panel", "series", "x", "mean", "std", "seeds"]


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
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    evals = load_evaluations(plan)
    fig, rows = kinds.get(plan["kind"]).draw(plan, evals)
    fig.tight_layout()
    text = title_text(fig)
    for out in (out_pdf, out_png):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        # the titles go into the file (the report's caption reads them: invrob.report); no creation date
        # in the PDF: the same numbers give the same file (kept reference figures too)
        metadata = ({"Title": plan["name"], "Subject": text, "CreationDate": None} if out.endswith(".pdf")
                    else {"Title": plan["name"], "Description": text})  # fmt: skip
        fig.savefig(out, dpi=150, metadata=metadata)
    pyplot().close(fig)
    write_csv(rows, CSV_HEADER, out_csv)
    return len(evals)


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
    header, rows, caption = kinds.get(plan["kind"]).table(plan, evals)
    write_csv(rows, header, out_csv)
    Path(out_md).write_text(_markdown(header, rows, caption))
    Path(out_tex).write_text(_latex(header, rows, caption))
    Path(out_html).write_text(html_table(header, rows, caption, plan["name"]))
    return len(evals)
