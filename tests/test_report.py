"""The report's contents (invrob.report): categories by paper and number, captions from what the
results themselves say, the front page; the headless-browser check (invrob.browser)."""

import csv
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from docutils.core import publish_parts  # noqa: E402

from conftest import load_config  # noqa: E402
from invrob.browser import find_chromium, report_views  # noqa: E402
from invrob.claims import CSV_HEADER  # noqa: E402
from invrob.claims.load import selectors  # noqa: E402
from invrob.figures.render import title_text  # noqa: E402
from invrob.pipeline import config_claims, figure_plan, report_caption  # noqa: E402
from invrob.report import (  # noqa: E402
    Caption,
    FrontPage,
    category,
    claims_about,
    html_table,
    paper_reference,
    rst_text,
)


def render(rst: str) -> str:
    """RST → HTML the way the report does; any docutils warning is an error here."""
    return publish_parts(rst, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]


@pytest.mark.parametrize("name, expected", [
    ("fig12", ("000", "Fig 12")), ("fig12-fashion_mnist", ("000", "Fig 12")), ("table2", ("000", "Table 2")),
    ("p001_fig6", ("001", "Fig 6")), ("p003_fig1_2", ("003", "Figs 1–2")), ("cusp_table1", ("001", "Table 1")),
    ("p001_theorem2", ("001", "§3, Proposition 1 and Theorem 2 (simulated)")), ("p004_table-svhn", ("004", "Table")),
    ("my_figure", (None, "my_figure")),
])  # fmt: skip
def test_targets_are_filed_under_their_paper_and_number(name, expected):
    assert paper_reference(name) == expected


def test_every_target_of_the_paper_config_has_a_paper():
    config = load_config()
    for section in ("figures", "tables"):
        for name in config[section]:
            assert category(name).startswith("Paper 0"), name


def test_text_from_quotes_is_shown_as_is():
    quote = "a *robust* model_ with |x| < 0.3 and `code` [1]"
    html = render(f"- {rst_text(quote)}")
    assert "a *robust* model_ with |x| &lt; 0.3 and `code` [1]" in html and "<em>" not in html


def _figure_png(path, suptitle: str, titles: list[str]):
    fig, axes = plt.subplots(1, len(titles))
    for ax, t in zip(axes, titles):
        ax.set_title(t)
    fig.suptitle(suptitle)
    fig.savefig(path, metadata={"Title": "x", "Description": title_text(fig)})
    plt.close(fig)


def test_a_figures_titles_are_kept_one_per_line_without_repeats():
    fig, axes = plt.subplots(1, 3)
    fig.suptitle("Model A: robustness\n(quick scale)")
    for ax, t in zip(axes, ["left\npanel", "right", "right"]):
        ax.set_title(t)
    assert title_text(fig) == "Model A: robustness (quick scale)\nleft panel\nright"
    plt.close(fig)


def _scoreboard(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, CSV_HEADER)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" for k in CSV_HEADER} | r)


def test_a_caption_repeats_the_drawn_titles_and_gives_the_verdicts(tmp_path):
    png = tmp_path / "fig1.png"
    _figure_png(png, "StdCNN on MNIST: robustness | invariance", ["PGD-40 (step 0.01)", "rotation invariance"])
    board = tmp_path / "claims.csv"
    _scoreboard(board, [
        {"id": "c1", "paper": "000", "where": "§2.1, Fig 1", "quote": "robustness *drops*", "paper_value": "decreasing",
         "ours": "ρ = -0.9", "verdict": "holds", "scale": "paper"},
        {"id": "c2", "paper": "000", "where": "Fig 1", "quote": "above 80%", "paper_value": "> 0.8",
         "verdict": "not built", "detail": "missing results/x.json", "scale": "paper"},
        {"id": "c3", "paper": "000", "where": "Fig 2", "quote": "other figure", "verdict": "fails", "scale": "paper"},
    ])  # fmt: skip
    cap = Caption("figures", "fig1", "rotation_tradeoff", "robustness | invariance profiles", "paper", (), ("c1", "c2"),
                  str(png), str(board))  # fmt: skip
    html = render(cap.rst())
    assert "<strong>Paper 000, Fig 1</strong>" in html
    assert "StdCNN on MNIST: robustness | invariance" in html and "PGD-40 (step 0.01)" in html
    assert "paper scale, the paper's settings" in html
    assert "<strong>holds</strong>" in html and "robustness *drops*" in html and "ρ = -0.9" in html
    assert "<strong>not built</strong> (missing results/x.json)" in html and "other figure" not in html
    board.unlink()
    assert "is not built in this folder" in render(Caption("figures", "fig1", "k", "d", "quick", ("quick scale",),
                                                               ("c1",), str(png), str(board)).rst())  # fmt: skip
    subset = render(Caption("figures", "fig12-fashion_mnist", "k", "d", "paper", (), (), str(png)).rst())
    assert "<strong>Paper 000, Fig 12</strong> (its <tt" in subset
    assert "(not drawn yet)" in render(Caption("figures", "fig9", "k", "d", "quick", (), (), str(tmp_path / "no.png")).rst())


def test_a_panel_target_is_captioned_with_the_claims_about_its_panel():
    config = load_config()
    claims = config_claims(config)
    whole = set(claims_about(claims, figure_plan(config, "fig12")))
    fmnist = set(claims_about(claims, figure_plan(config, "fig12-fashion_mnist")))
    assert fmnist and whole > fmnist
    by_id = {c["id"]: c for c in claims}
    for i in whole:  # every fig12 claim names its panel by dataset: the Fashion-MNIST ones are the panel's
        panels = {sel["panel"]["dataset"] for sel in selectors(by_id[i]) if sel["target"] == "fig12"}
        assert (i in fmnist) == (panels == {"fashion_mnist"}), i
    cap = report_caption(config, "figures", "fig12-fashion_mnist", claims)
    assert set(cap.claim_ids) == fmnist and cap.result == "figures/fig12-fashion_mnist.png"
    assert repr(cap) == "Caption(figures/fig12-fashion_mnist)"  # what the report's job-parameters row shows


def test_a_panel_index_counts_the_panels_of_the_whole_figure():
    config = load_config()
    claim = {"id": "x", "series": {"target": "fig12", "panel": 0, "evaluation": "robustness", "x": 0.1}}
    subset, whole = figure_plan(config, "fig12-fashion_mnist"), figure_plan(config, "fig12")
    assert claims_about([claim], subset, whole) == ()  # panel 0 of Fig 12 is MNIST's
    assert claims_about([{**claim, "series": {**claim["series"], "panel": 1}}], subset, whole) == ("x",)


def test_captions_and_the_front_page_are_never_a_rerun_trigger(tmp_path):
    """Snakemake records params of plain types only (and none computed from input or output): a
    Caption or FrontPage param changes nothing about whether a figure or the scoreboard reruns."""
    from snakemake.persistence import UNREPRESENTABLE
    from snakemake.persistence import PersistenceBase as Persistence
    from snakemake.rules import Rule

    cap = Caption("figures", "fig1", "k", "d", "paper", (), (), "x.png")
    assert Persistence._serialize_param_builtin(None, cap) is UNREPRESENTABLE
    assert Persistence._serialize_param_builtin(None, FrontPage((), "quick", str(tmp_path))) is UNREPRESENTABLE
    assert Rule._is_deriving_function(lambda w, input: 0)  # the front page's param function


def test_the_front_page_says_how_the_run_was_made_and_lists_the_judged_claims(tmp_path):
    board = tmp_path / "claims.csv"
    _scoreboard(board, [
        {"id": "a", "paper": "000", "where": "Fig 1", "quote": "falls", "paper_value": "decreasing", "ours": "ρ = -1",
         "verdict": "holds"},
        {"id": "b", "paper": "001", "where": "Fig 2", "quote": "rises", "paper_value": "increasing", "ours": "ρ = -1",
         "verdict": "fails"},
        {"id": "c", "paper": "001", "where": "Fig 3", "quote": "hidden", "verdict": "not built"},
    ])  # fmt: skip
    evals = []
    for i, device in enumerate(["cpu", "cpu", "cuda"]):
        evals.append(tmp_path / f"e{i}.json")
        evals[-1].write_text(json.dumps({"device": device}))
    page = FrontPage(("config/quick.yaml",), "quick", str(tmp_path), tuple(map(str, evals)), str(board))
    html = render(page.rst())
    assert "quick.yaml" in html and "cpu (2 files), cuda (1 file)" in html and "not a git checkout" in html
    assert "3 claims of the papers:</strong> 1 holds, 1 fails, 0 not judged, 0 not measured, 1 not built" in html
    assert html.index("rises") < html.index("falls") and "hidden" not in html  # failures first; judged only
    board.unlink()
    assert "was not built in this folder" in render(page.rst())


def test_tables_become_html_pages_with_their_text_escaped():
    page = html_table(["a", "<b>"], [["1 & 2", "x"]], "caption <i>", "t")
    assert "<th>&lt;b&gt;</th>" in page and "<td>1 &amp; 2</td>" in page and "caption &lt;i&gt;" in page


def test_the_browser_reports_javascript_errors_and_shows_each_view(tmp_path):
    if not find_chromium():
        pytest.fail("Chromium is needed to check the report as a reader sees it: ./setup.sh --tests installs it")
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>front</p><script>var categories = {'A': {'one': ['r1']}}; var results = {'r1': {}};"
                    "var app = {setView: function(v) { document.body.innerText = JSON.stringify(v); }};"
                    "undefinedFunction();</script></body></html>")  # fmt: skip
    views = report_views(page)
    assert any("undefinedFunction" in e for e in views["errors"])
    assert views["front"].strip() == "front" and '"subcategory":"one"' in views["categories"]["A"]["one"]
    assert '"resultPath":"r1"' in views["captions"]["r1"]
