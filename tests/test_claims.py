"""The claims scoreboard: claims as data, verdicts by hand on made-up evaluation files, the rule's inputs."""

import copy

import pytest
import yaml

from conftest import REPO, load_config
from invrob.claims import ClaimError, NotMeasured
from invrob.claims.load import check_claims, load_claims, selectors
from invrob.claims.read import Reader
from invrob.claims.scoreboard import claim_inputs, requested_targets, scoreboard, spearman, write_scoreboard
from invrob.config import ConfigError
from invrob.pipeline import claim_plans, config_claims, figure_plan

THETAS = [0, 30, 60, 90, 120, 150, 180]


def claim(**fields):
    return {"id": "c", "paper": "000", "where": "Fig 1", "quote": "a quote", **fields}


def fake_files(plan: dict, evaluation: str, results_of) -> dict:
    """{path: file} for ``evaluation`` of every model of ``plan``'s first panel: results_of(group, seed)."""
    files = {}
    for model in plan["panels"][0]["models"]:
        for seed, by_ev in model["evals"].items():
            for name, path in by_ev.items():
                if name.startswith(evaluation):
                    files[path] = {"evaluation": name, "results": results_of(model["group"], int(seed))}
    return files


def judge_all(config, claims, files):
    plans = claim_plans(config, claims)
    return {r["id"]: r for r in scoreboard(plans, claims, config["scale"], files.__getitem__, files.__contains__)}


def test_the_papers_claims_load_and_match_the_configs_targets():
    claims = load_claims(REPO / "config" / "claims.yaml")
    assert len(claims) >= 25
    assert {c["paper"] for c in claims} == {"000", "001", "003", "004"}
    assert {c["type"] for c in claims} == {"level", "trend", "compare"}
    for config in (load_config(), load_config("quick.yaml"), load_config("tiny.yaml")):
        assert config_claims(config) == claims  # every selector names a target and a known evaluation
    # at paper scale every selector resolves to evaluation files (a panel, model and evaluation it has)
    reader = Reader(claim_plans(load_config(), claims), read=lambda p: {})
    assert not [c["id"] for c in claims for sel in selectors(c) if not reader.files(sel)]


@pytest.mark.parametrize("bad, message", [
    ([claim(type="level", value={"target": "fig1"})], "missing expect"),
    ([claim(type="guess", expect="up")], "type 'guess' is not one of level, trend, compare"),
    ([claim(type="trend", series={"target": "fig1"}, expect="up")], "a trend expects 'increasing' or 'decreasing'"),
    ([claim(type="level", value={"target": "fig1"}, expect={"op": "≈", "value": 1})], "'≈' needs a tolerance"),
    ([claim(type="level", value={"target": "fig1"}, expect={"op": ">", "value": 1})] * 2, "the id is used twice"),
])  # fmt: skip
def test_malformed_claims_are_explained(tmp_path, bad, message):
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True))
    with pytest.raises(ClaimError, match=message):
        load_claims(path)


def test_a_claim_about_a_missing_target_or_evaluation_is_a_config_error(tmp_path):
    config = load_config()
    plans = {"fig1": figure_plan(config, "fig1")}
    level = claim(type="level", expect={"op": ">", "value": 0.5})
    with pytest.raises(ClaimError, match="no figure or table 'fig99'"):
        check_claims(plans, [{**level, "value": {"target": "fig99"}}], set(config["figures"]))
    with pytest.raises(ClaimError, match="y 'acuracy' is not one of accuracy"):
        check_claims(plans, [{**level, "value": {"target": "fig1", "y": "acuracy"}}], {"fig1"})
    with pytest.raises(ClaimError, match="reduce 'median' is not one of min, max, mean"):
        check_claims(plans, [{**level, "value": {"target": "fig1", "y": "accuracy", "reduce": "median"}}], {"fig1"})
    with pytest.raises(ClaimError, match="unknown evaluation 'deepfoo'; known: autoattack-l2, autoattack-linf, clean, cusp, deepfool"):
        check_claims(plans, [{**level, "value": {"target": "fig1", "evaluation": "deepfoo"}}], {"fig1"})
    (tmp_path / "claims.yaml").write_text(yaml.safe_dump([{**level, "value": {"target": "fig99"}}]))
    with pytest.raises(ConfigError, match="claims: claim 'c': no figure or table 'fig99'"):
        config_claims({**config, "claims": str(tmp_path / "claims.yaml")})


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4]) == pytest.approx(1.0)
    assert spearman([4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 3, 2]) == pytest.approx(0.5)  # ranks 0 2 1: 1 − 6·2/(3·8)
    assert spearman([1, 1, 2]) == pytest.approx(0.8660254)  # average ranks for ties
    assert spearman([2, 2, 2]) != spearman([2, 2, 2])  # nan: no trend in a constant


def test_trends_levels_and_comparisons_judged_on_made_up_evaluations():
    config = load_config()  # paper scale: MNIST StdCNN is the paper's setup, so levels are judged
    fig1 = figure_plan(config, "fig1")
    files = fake_files(fig1, "invariance-rotation",
                       lambda theta, seed: {"theta": [0, 90, 180], "invariance": [1.0, 0.5, 0.2 + theta / 300],
                                            "accuracy": [0.9, 0.4, 0.1]})  # fmt: skip
    files |= fake_files(fig1, "robustness-pgd", lambda theta, seed: {"epsilon": [0.0, 0.3],
                                                                     "accuracy": [0.9, 0.8 - theta / 360 + 0.01 * seed]})
    rising = claim(id="rise", type="trend", expect="increasing",
                   series={"target": "fig1", "evaluation": "invariance-rotation", "x": 180, "y": "invariance"})
    falling = claim(id="fall", type="trend", expect="decreasing",
                    series={"target": "fig1", "evaluation": "robustness", "x": 0.3, "y": "accuracy"})
    wrong_way = {**rising, "id": "wrong", "expect": "decreasing"}
    level = claim(id="level", type="level", expect={"op": ">", "value": 0.6},
                  value={"target": "fig1", "model": 60, "evaluation": "robustness", "x": 0.3, "y": "accuracy"})
    near = claim(id="near", type="level", expect={"op": "≈", "value": 0.5, "tolerance": 0.01},
                 value={"target": "fig1", "model": 180, "evaluation": "robustness", "x": 0.3, "y": "accuracy"})
    compare = claim(id="compare", type="compare", expect={"op": ">"},
                    a={"target": "fig1", "model": 0, "evaluation": "robustness", "x": 0.3, "y": "accuracy"},
                    b={"target": "fig1", "model": 180, "evaluation": "robustness", "x": 0.3, "y": "accuracy"})
    off_grid = {**level, "id": "off", "value": {**level["value"], "x": 0.2}}
    deepfool = claim(id="df", type="level", expect={"op": ">", "value": 1},
                     value={"target": "fig8", "model": 0, "evaluation": "deepfool", "y": "mean_l2"})
    rows = judge_all(config, [rising, falling, wrong_way, level, near, compare, off_grid, deepfool], files)
    assert rows["rise"]["verdict"] == "holds" and rows["rise"]["ours"].startswith("ρ = +1.00; 0.2 → ")
    assert rows["fall"]["verdict"] == "holds" and rows["wrong"]["verdict"] == "fails"
    assert rows["level"]["verdict"] == "holds" and rows["level"]["ours"] == "0.6333"  # 0.8 − 60/360
    assert rows["near"]["verdict"] == "fails" and rows["near"]["ours"] == "0.3"
    assert rows["compare"]["verdict"] == "holds" and rows["compare"]["ours"] == "0.8 vs 0.3"
    assert rows["off"]["verdict"] == "not measured" and "0.2 is not on the evaluated grid" in rows["off"]["detail"]
    assert rows["df"]["verdict"] == "not built" and "deepfool-normalized.json" in rows["df"]["detail"]
    # two seeds: the mean over seeds
    two = copy.deepcopy(config)
    two["seeds"] = [0, 1]
    files2 = fake_files(figure_plan(two, "fig1"), "robustness-pgd",
                        lambda theta, seed: {"epsilon": [0.0, 0.3], "accuracy": [0.9, 0.5 + 0.1 * seed]})
    assert judge_all(two, [level], files2)["level"]["ours"] == "0.55"


def test_levels_under_a_stand_in_are_not_judged_but_trends_are():
    quick = load_config("quick.yaml")  # Fashion-MNIST stands in for MNIST
    fig1 = figure_plan(quick, "fig1")
    files = fake_files(fig1, "robustness-pgd", lambda theta, seed: {"epsilon": [0.0, 0.3],
                                                                    "accuracy": [0.9, 0.8 - theta / 360]})
    level = claim(id="level", type="level", expect={"op": ">", "value": 0.6},
                  value={"target": "fig1", "model": 60, "evaluation": "robustness", "x": 0.3, "y": "accuracy"})
    trend = claim(id="trend", type="trend", expect="decreasing",
                  series={"target": "fig1", "evaluation": "robustness", "x": 0.3, "y": "accuracy"})
    rows = judge_all(quick, [level, trend], files)
    assert rows["level"]["verdict"] == "not judged" and "stdcnn on fashion_mnist stands in" in rows["level"]["detail"]
    assert rows["trend"]["verdict"] == "holds"
    # Fashion-MNIST StdCNN is paper 000's own setup (Fig 24), but a quick-scale level is still not judged
    fig21 = figure_plan(quick, "fig21")
    files = fake_files(fig21, "invariance-rotation", lambda group, seed: {"theta": [0, 15], "accuracy": [0.9, 0.8],
                                                                          "invariance": [1.0, 0.9]})
    on_fmnist = {"target": "fig21", "panel": {"dataset": "fashion_mnist"}, "model": ["gcnn", "none"],
                 "evaluation": "invariance-rotation", "x": 15, "y": "accuracy"}
    level = claim(id="fm", type="level", expect={"op": ">", "value": 0.5}, value=on_fmnist)
    assert "quick scale" in judge_all(quick, [level], files)["fm"]["detail"]
    paper = load_config()  # at paper scale: judged, and the second architecture of a panel is not a stand-in
    level_paper = claim(id="fm", type="level", expect={"op": ">", "value": 0.5}, value={**on_fmnist, "x": 10})
    assert judge_all(paper, [level_paper], {})["fm"]["verdict"] == "not built"  # no file yet
    files_fm = {}
    for panel in figure_plan(paper, "fig21")["panels"]:
        for m in panel["models"]:
            files_fm[m["evals"]["0"]["invariance-rotation"]] = {"results": {"theta": [0, 10], "accuracy": [0.9, 0.8],
                                                                            "invariance": [1, 0.9]}}  # fmt: skip
    row = judge_all(paper, [level_paper], files_fm)["fm"]
    assert row["verdict"] == "holds" and row["ours"] == "0.8"
    unknown = {**level_paper, "stand_in": "the paper names no network"}
    assert judge_all(paper, [unknown], files_fm)["fm"]["verdict"] == "not judged"


def test_cusp_rows_and_table_columns_are_selected_by_their_config_labels():
    config = load_config("quick.yaml")
    table = figure_plan(config, "cusp_table1", "tables")
    files = {}
    for i, model in enumerate(table["panels"][0]["models"]):
        for by_ev in model["evals"].values():
            adv, spatial = (0.5, 0.5) if i == 14 else (0.1 * (i % 3), 0.1)  # the last row dominates
            files[by_ev["clean"]] = {"results": {"accuracy": 0.8}}
            files[by_ev["robustness-pgd"]] = {"results": {"epsilon": [0.0, 0.1], "accuracy": [0.8, adv]}}
            files[by_ev["invariance-rotation"]] = {"results": {"theta": [0, 180], "accuracy": [0.8, spatial],
                                                               "invariance": [1, 0.2]}}  # fmt: skip
    row = "Aug 180 → CuSP (PGD, 120-150-180, {eps_list})"
    pareto = claim(id="pareto", type="level", expect={"op": ">", "value": 0.5},
                   value={"target": "cusp_table1", "model": row, "evaluation": "cusp", "y": "pareto"})
    adv = claim(id="adv", type="compare", expect={"op": ">"},
                a={"target": "cusp_table1", "model": row, "evaluation": "cusp", "y": "adv"},
                b={"target": "cusp_table1", "model": "PGD (Aug 0)", "evaluation": "cusp", "y": "adv"})
    rows = judge_all(config, [pareto, adv], files)
    assert rows["pareto"]["ours"] == "1" and rows["pareto"]["verdict"] == "not judged"  # StdCNN for VGG16
    assert rows["adv"]["verdict"] == "holds" and rows["adv"]["ours"] == "0.5 vs 0.2"  # row 3: 0.1 · (2 mod 3)


def test_the_rule_reads_what_exists_and_what_this_run_builds(tmp_path):
    config = load_config("quick.yaml")
    names = {(n, "figures") for n in config["figures"]} | {(n, "tables") for n in config["tables"]}
    assert requested_targets(config, set()) == names == requested_targets(config, {"all"})
    asked = {"figures/fig1.pdf", "tables/table1.md", "train", "figures/fig12-fashion_mnist.png"}
    assert requested_targets(config, asked) == {("fig1", "figures"), ("table1", "tables")}
    assert requested_targets(config, asked, lambda s: ["fig12-fashion_mnist"] if s == "figures" else []) == {
        ("fig1", "figures"), ("table1", "tables"), ("fig12-fashion_mnist", "figures")}
    trend = claim(type="trend", expect="increasing",
                  series={"target": "fig1", "evaluation": "invariance-rotation", "x": 180, "y": "invariance"})
    plans = claim_plans(config, [trend])
    files = [f for m in plans["fig1"]["panels"][0]["models"] for f in m["evals"]["0"].values()
             if "invariance-rotation" in f]  # fmt: skip
    assert claim_inputs(plans, [trend], set(files), exists=lambda p: False) == files
    assert claim_inputs(plans, [trend], set(), exists=lambda p: p == files[2]) == [files[2]]
    rows = scoreboard(plans, [trend], "quick", read=lambda p: {}, exists=lambda p: False)
    write_scoreboard(rows, tmp_path / "claims.csv", tmp_path / "claims.md", "quick")
    md = (tmp_path / "claims.md").read_text()
    assert "checked at quick scale — 1 claims: 0 holds, 0 fails, 0 not judged, 0 not measured, 1 not built" in md
    assert (tmp_path / "claims.csv").read_text().startswith("id,paper,where,type,quote,quantity,paper_value")


def test_claims_about_training_snapshots_read_every_snapshot():
    config = load_config()
    plan = figure_plan(config, "p003_fig1_2")
    model = plan["panels"][0]["models"][0]
    path = model["evals"]["0"]["spatial-grid775"]
    asr = [0.2, 0.9, 0.94, 0.96]
    files = {path: {"evaluation": "spatial-grid775",
                    "snapshots": [{"epoch": e, "results": {"attack_success_rate": a, "accuracy": 1 - a}}
                                  for e, a in zip((1, 4, 8, 100), asr)]}}  # fmt: skip
    sel = {"target": "p003_fig1_2", "panel": 0, "model": "rot0", "evaluation": "spatial-grid775",
           "y": "attack_success_rate"}  # fmt: skip
    mean = claim(id="mean", type="level", expect={"op": "≈", "value": 0.75, "tolerance": 0.01},
                 value={**sel, "over_snapshots": "mean"})
    last = claim(id="last", type="level", expect={"op": ">", "value": 0.95}, value={**sel, "over_snapshots": "last"})
    rise = claim(id="rise", type="trend", expect="increasing", series=sel)
    rows = judge_all(config, [mean, last, rise], files)
    assert rows["mean"]["ours"] == "0.75" and rows["mean"]["verdict"] == "holds"  # (0.2 + 0.9 + 0.94 + 0.96) / 4
    assert rows["last"]["ours"] == "0.96" and rows["last"]["verdict"] == "holds"
    assert rows["rise"]["verdict"] == "holds" and rows["rise"]["detail"] == "over 1, 4, 8, 100"


def test_a_band_of_the_papers_numbers_is_judged_at_paper_scale_only():
    gap = {"target": "fig21", "panel": {"dataset": "fashion_mnist"}, "evaluation": "invariance-rotation",
           "y": "accuracy"}  # fmt: skip
    band = claim(id="band", type="compare", judged_at="paper", expect={"op": "<", "margin": 0.03},
                 a={**gap, "model": ["gcnn", "none"], "x": 180}, b={**gap, "model": ["gcnn", "none"], "x": 0})
    for config, thetas in ((load_config("quick.yaml"), [0, 180]), (load_config(), [0, 180])):
        files = {}
        for panel in figure_plan(config, "fig21")["panels"]:
            for m in panel["models"]:
                files[m["evals"]["0"]["invariance-rotation"]] = {"results": {"theta": thetas, "accuracy": [0.9, 0.8],
                                                                             "invariance": [1, 0.9]}}  # fmt: skip
        row = judge_all(config, [band], files)["band"]
        if config["scale"] == "paper":
            assert row["verdict"] == "holds" and row["ours"] == "0.8 vs 0.9"
        else:
            assert row["verdict"] == "not judged" and "judged_at: paper" in row["detail"]


def test_adversarial_claims_are_judged_again_under_autoattack_on_the_same_models():
    config = load_config("quick.yaml")
    falling = claim(id="fall", type="trend", expect="decreasing",
                    series={"target": "fig1", "evaluation": "robustness", "x": 0.1, "y": "accuracy"})
    invariance = claim(id="inv", type="trend", expect="increasing",
                       series={"target": "fig1", "evaluation": "invariance-rotation", "x": 180, "y": "invariance"})
    fgsm = claim(id="fgsm", type="trend", expect="decreasing",
                 series={"target": "fig15", "evaluation": "robustness-rotated", "x": 0.1, "y": "accuracy"})
    rotated = claim(id="rot", type="trend", expect="decreasing",
                    series={"target": "fig12", "evaluation": "robustness-rotated", "x": 0.1, "y": "accuracy"})
    row = "Aug 180 → CuSP (PGD, 120-150-180, {eps_list})"
    cusp = claim(id="cusp", type="compare", expect={"op": ">"},
                 a={"target": "cusp_table1", "model": row, "evaluation": "cusp", "y": "adv"},
                 b={"target": "cusp_table1", "model": "PGD (Aug 0)", "evaluation": "cusp", "y": "adv"})
    plans = claim_plans(config, [falling, invariance, fgsm, rotated, cusp])
    assert plans["aa_fig1"]["source"] == "fig1" and plans["aa_cusp_table1"]["source"] == "cusp_table1"
    files = {}
    for plan in (plans["fig1"], plans["aa_fig1"]):
        for model in plan["panels"][0]["models"]:
            theta = model["group"]
            for by_ev in model["evals"].values():
                for name, path in by_ev.items():
                    # PGD: falls with θ; AutoAttack: the same models all at 0.05 (a flat, failed trend)
                    acc = 0.05 if "autoattack" in name else 0.6 - theta / 400
                    files[path] = {"results": {"epsilon": [0.0, 0.1], "accuracy": [0.9, acc], "theta": [0, 180],
                                               "invariance": [1.0, 0.2 + theta / 400]}}  # fmt: skip
    for plan in (plans["cusp_table1"], plans["aa_cusp_table1"]):
        for i, model in enumerate(plan["panels"][0]["models"]):
            for by_ev in model["evals"].values():
                files[by_ev["clean"]] = {"results": {"accuracy": 0.8}}
                files[by_ev["invariance-rotation"]] = {"results": {"theta": [0, 180], "accuracy": [0.8, 0.1],
                                                                   "invariance": [1, 0.2]}}  # fmt: skip
                files[by_ev["robustness-pgd"]] = {"results": {"epsilon": [0.0, 0.1], "accuracy": [0.8, 0.1 + i / 50]}}
                if "robustness-autoattack" in by_ev:  # under AutoAttack the last rows lose their edge
                    files[by_ev["robustness-autoattack"]] = {"results": {"epsilon": [0.0, 0.1],
                                                                         "accuracy": [0.8, 0.3 - i / 50]}}
    rows = {r["id"]: r for r in scoreboard(plans, [falling, invariance, fgsm, rotated, cusp], "quick",
                                           files.__getitem__, files.__contains__)}  # fmt: skip
    assert rows["fall"]["verdict"] == "holds" and rows["fall"]["verdict_autoattack"] == "fails"
    assert rows["fall"]["ours_autoattack"].endswith("0.05 → 0.05 → 0.05 → 0.05")
    assert rows["inv"]["verdict_autoattack"] == ""  # not an adversarial claim
    assert rows["fgsm"]["verdict_autoattack"].startswith("not measured: no AutoAttack counterpart of fig15")
    # on rotated test data, from AutoAttack's rotated profile of the same models (not made up here)
    assert rows["rot"]["verdict_autoattack"].startswith("not built: missing ")
    assert "robustness-autoattack-rotated-normalized.json" in rows["rot"]["verdict_autoattack"]
    assert rows["cusp"]["verdict"] == "holds" and rows["cusp"]["verdict_autoattack"] == "fails"
    # rows 15 and 3 (i = 14, 2): PGD 0.1 + i/50, AutoAttack 0.3 − i/50
    assert rows["cusp"]["ours"] == "0.38 vs 0.14" and rows["cusp"]["ours_autoattack"] == "0.02 vs 0.26"
    inputs = claim_inputs(plans, [falling], set(files), exists=lambda p: False)
    assert any("robustness-autoattack" in f for f in inputs) and any("robustness-pgd" in f for f in inputs)


def test_a_claim_about_models_another_target_compares_under_autoattack_reads_that_comparison():
    """Fig 19's StdCNNs under PGD (unrotated, normalised ε) are Fig 1's Fashion-MNIST models that aa_fig1 puts under
    PGD and AutoAttack: its AutoAttack verdict reads aa_fig1's panel; an FGSM claim (Fig 15) has no such twin."""
    from invrob.claims.scoreboard import under_second_attack

    config = load_config()
    claims = {c["id"]: c for c in config_claims(config)}
    fig19 = claims["p000-fmnist-fig19-stdcnn-pgd-unrotated-falls-with-theta"]
    plans = claim_plans(config, list(claims.values()))
    second = under_second_attack(fig19, plans)["series"]
    panel = plans["aa_fig1"]["panels"][second["panel"]]
    assert second["target"] == "aa_fig1" and second["evaluation"] == "robustness-autoattack"
    assert (panel["dataset"], panel["arch"], panel["test"]) == ("fashion_mnist", "stdcnn", "unrotated")
    fig19_models = {m["recipe"] for m in figure_plan(config, "fig19")["panels"][0]["models"]}
    assert fig19_models <= {m["recipe"] for m in panel["models"]}
    fgsm = next(c for c in claims.values() if c["id"].startswith("p000-fmnist-fig15-stdcnn-fgsm"))
    with pytest.raises(NotMeasured, match="no AutoAttack counterpart of fig15"):
        under_second_attack(fgsm, plans)


def test_paper003_pgd_claims_are_judged_again_under_autoattack_in_the_same_norm():
    """Paper 003's Fig 3 claims read ℓ2 / ℓ∞ PGD's success profiles (pgd-l2, pgd-linf) of the D_mix models:
    their AutoAttack verdict reads autoattack-l2 / autoattack-linf of the same models, in aa_p003_fig3."""
    from invrob.claims.scoreboard import under_second_attack

    config = load_config("quick.yaml")
    claims = {c["id"]: c for c in config_claims(config)}
    l2 = claims["p003-fig3-resnet18-l2-05-rises-with-alpha"]
    linf = claims["p003-fig3-resnet18-linf-2of255-rises-with-alpha"]
    plans = claim_plans(config, [l2, linf])
    assert plans["aa_p003_fig3"]["source"] == "p003_fig3"
    for c, norm in ((l2, "l2"), (linf, "linf")):
        second = under_second_attack(c, plans)["series"]
        assert (second["target"], second["evaluation"]) == ("aa_p003_fig3", f"autoattack-{norm}")
        assert second["x"] == c["series"]["x"] and second["y"] == "accuracy"
    files = {}
    for plan in (plans["p003_fig3"], plans["aa_p003_fig3"]):
        for model in plan["panels"][0]["models"]:
            alpha = model["group"]
            for by_ev in model["evals"].values():
                for name, path in by_ev.items():
                    # ℓ2 PGD: rises with α; ℓ2 AutoAttack: falls (the robustness was PGD's blind spot)
                    acc = 0.5 - alpha / 4 if name == "autoattack-l2" else 0.2 + alpha / 4
                    files[path] = {"results": {"epsilon": [0.25, 0.5] if name.endswith("l2") else [1 / 255, 2 / 255],
                                               "accuracy": [acc, acc], "norm": name.split("-")[-1]}}  # fmt: skip
    rows = {r["id"]: r for r in scoreboard(plans, [l2, linf], "quick", files.__getitem__, files.__contains__)}
    assert rows[l2["id"]]["verdict"] == "holds" and rows[l2["id"]]["verdict_autoattack"] == "fails"
    assert rows[linf["id"]]["verdict"] == rows[linf["id"]]["verdict_autoattack"] == "holds"

