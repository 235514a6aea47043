"""Reference results: kept, verified, drawn again without training, compared with a rerun."""

import csv
import json
import shutil

import pytest

from conftest import REPO
from invrob.io import atomic_write_json
from invrob.paths import THEORY as THEORY_FILE
from invrob.reference import compare, draw, main, save, verify
from invrob.theory.simulation import simulate

SMALL = {"code_degree": 6, "shift_unit": 21, "p": 0.7, "train_samples": 500, "test_samples": 1000, "epochs": 1,
         "lr": 0.02, "hidden": 8, "pgd_steps": 2, "eval_pgd_steps": 2, "adversarial_epsilons": [0.5],
         "classifiers": ["linear"], "seed": 0}  # fmt: skip


def test_a_run_kept_as_reference_draws_again_and_compares(tmp_path, capsys):
    run, ref, out = tmp_path / "run", tmp_path / "ref", tmp_path / "out"
    atomic_write_json(simulate(SMALL, log=lambda _: None), run / THEORY_FILE)
    targets = ["figures/p001_theorem2.png", "figures/fig1.png", "tables/claims.md"]
    assert save(ref, run, ["config/tiny.yaml"], targets, "theory", 12.5, commit="abc") == {"copied": 1, "missing": 6}  # fig1: 2 models × 3
    manifest = verify(ref)
    assert list(manifest["files"]) == [THEORY_FILE] and manifest["parts"][0]["commit"] == "abc"
    assert manifest["parts"][0]["machine"]["cores"] >= 1 and manifest["parts"][0]["wall_seconds"] == 12.5
    # fig1's files are not kept: drawn are the figure the reference holds and the scoreboard
    assert draw(ref, out) == ["figures/p001_theorem2.png", "tables/claims.md"]
    assert (out / "figures/p001_theorem2.png").stat().st_size > 5000
    board = {r["id"]: r for r in csv.DictReader((out / "tables/claims.csv").open())}
    assert board["p001-prop1-best-classifier-above-97"]["verdict"] == "holds"
    assert board["p000-fig1-pgd-falls-with-theta"]["verdict"] == "not built"
    # a rerun with the same numbers compares equal; a changed number is found
    assert [r["largest_difference"] for r in compare(ref, run)] == [0.0]
    result = json.loads((run / THEORY_FILE).read_text())
    result["results"]["bayes_cross_accuracy"] += 0.25
    (run / THEORY_FILE).write_text(json.dumps(result))
    assert compare(ref, run)[0]["largest_difference"] == pytest.approx(0.25)
    assert compare(ref, run)[0]["in"] == "bayes_cross_accuracy"
    main(["compare", str(ref), "--run", str(run)])
    assert "0.2500  bayes_cross_accuracy" in capsys.readouterr().out
    # one part's targets: the files of one architecture's models
    main(["files", "--configfile", "config/tiny.yaml", "--targets", "figures/fig1.png", "figures/fig3.png",
          "--arch", "gcnn"])  # fmt: skip
    files = capsys.readouterr().out.split()
    assert len(files) == 6 and all("/gcnn/" in f for f in files)  # fig3: 2 GCNNs × 3 evaluations
    main(["files", "--configfile", "config/tiny.yaml", "--targets", "figures/fig3.png", "--recipes", "rot180"])
    assert capsys.readouterr().out.split() == [f for f in files if "/rot180/" in f]
    # another part keeps the first; a kept file that changed is refused
    save(ref, run, ["config/tiny.yaml"], targets, "again", None, commit="def")
    assert [p["part"] for p in verify(ref)["parts"]] == ["theory", "again"]
    (ref / THEORY_FILE).write_text("{}")
    with pytest.raises(SystemExit, match="missing or changed"):
        verify(ref)
    with pytest.raises(SystemExit, match="not config/quick.yaml"):
        save(ref, run, ["config/quick.yaml"], targets, "other", None)


KEPT = sorted(p.parent for p in (REPO / "reference").glob("*/manifest.json"))


@pytest.mark.skipif(not KEPT, reason="no reference results in this checkout")
@pytest.mark.parametrize("kept", KEPT, ids=[p.name for p in KEPT])
def test_the_kept_paper_scale_reference_draws_without_training(tmp_path, kept):
    ref = tmp_path / "ref"
    shutil.copytree(kept, ref, ignore=shutil.ignore_patterns("figures", "tables"))
    manifest = verify(ref)
    drawn = draw(ref, tmp_path / "out")
    assert "tables/claims.md" in drawn and len(drawn) >= 2
    for png in [t for t in drawn if t.endswith(".png")]:
        assert (tmp_path / "out" / png).stat().st_size > 5000
    assert all(part["machine"]["cores"] and part["commit"] for part in manifest["parts"])
    # the figures' and tables' numbers and the scoreboard kept in the repository are these
    for target in drawn[:-1]:
        csv_file = target.rsplit(".", 1)[0] + ".csv"
        assert (tmp_path / "out" / csv_file).read_text() == (kept / csv_file).read_text(), csv_file
    board = (tmp_path / "out/tables/claims.csv").read_text()
    assert board == (kept / "tables/claims.csv").read_text()
