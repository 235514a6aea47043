"""Code fingerprints: behaviour changes in the code a job reaches change them, nothing else does."""

import textwrap

import pytest

from invrob.fingerprint import code_fingerprint, reached_symbols
from invrob.workflow import job_code

EVALUATION = '''
"""Evaluations."""
from .helpers import accuracy, unused_helper


def _clean(x):
    """Clean accuracy."""
    return accuracy(x)  # the plain one


def _attack(name):
    def run(x):
        from .attacks import attack  # lazy, as in invrob.jobs
        return attack(x, name)
    return run


EVALUATIONS = {"clean": _clean, **{f"attack-{a}": _attack(a) for a in ("pgd", "fgsm")}}


def evaluate_job(name, x):
    return EVALUATIONS[name](x)
'''
HELPERS = '''
SCALE = 2


def accuracy(x):
    return x * SCALE


def unused_helper(x):
    return x - 1
'''
ATTACKS = '''
from . import helpers


def attack(x, name):
    return helpers.accuracy(x) + len(name)
'''


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "invrob"
    root.mkdir()
    for name, text in {"__init__": '"""A package."""\n', "evaluation": EVALUATION, "helpers": HELPERS,
                       "attacks": ATTACKS}.items():  # fmt: skip
        (root / f"{name}.py").write_text(textwrap.dedent(text))
    return root


def fingerprint(root, evaluation):
    return code_fingerprint("invrob.evaluation:evaluate_job", package_dir=root, evaluation=evaluation)


def edit(root, module, old, new):
    path = root / f"{module}.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return root


def copy(root, dest):
    dest.mkdir()
    for path in root.glob("*.py"):
        (dest / path.name).write_text(path.read_text())
    return dest


def test_reached_symbols_follow_imports_dispatch_tables_and_lazy_imports(package):
    assert reached_symbols("invrob.evaluation:evaluate_job", package_dir=package, evaluation="clean") == [
        "invrob.evaluation:EVALUATIONS", "invrob.evaluation:_clean", "invrob.evaluation:evaluate_job",
        "invrob.helpers:SCALE", "invrob.helpers:accuracy"]  # fmt: skip
    pgd = reached_symbols("invrob.evaluation:evaluate_job", package_dir=package, evaluation="attack-pgd")
    assert "invrob.attacks:attack" in pgd and "invrob.helpers:accuracy" in pgd and "invrob.evaluation:_clean" not in pgd
    with pytest.raises(ValueError, match="no entry 'nope'"):
        fingerprint(package, "nope")


@pytest.mark.parametrize(
    "module,old,new",
    [
        ("evaluation", "# the plain one", "# reworded comment"),
        ("evaluation", '"""Clean accuracy."""', '"""Accuracy on clean images, reworded."""'),
        ("evaluation", "def _clean(x):", "def _clean(x: float) -> float:"),
        ("evaluation", "    return accuracy(x)", "    return (\n        accuracy(\n            x\n        )\n    )"),
        ("helpers", "    return x - 1", "    return x - 2"),  # a function no evaluation reaches
        ("attacks", "len(name)", "2 * len(name)"),  # reached by the attacks only
    ],
)
def test_edits_that_change_no_reached_behaviour_keep_the_fingerprint(package, tmp_path, module, old, new):
    before = fingerprint(package, "clean")
    edited = edit(copy(package, tmp_path / "edited"), module, old, new)
    assert fingerprint(edited, "clean") == before


@pytest.mark.parametrize(
    "module,old,new,changed",
    [
        ("helpers", "SCALE = 2", "SCALE = 3", {"clean", "attack-pgd", "attack-fgsm"}),
        ("evaluation", "return accuracy(x)", "return accuracy(x) + 1", {"clean"}),
        ("attacks", "len(name)", "2 * len(name)", {"attack-pgd", "attack-fgsm"}),
    ],
)
def test_behaviour_changes_change_exactly_the_fingerprints_that_reach_them(package, tmp_path, module, old, new,
                                                                           changed):  # fmt: skip
    names = ("clean", "attack-pgd", "attack-fgsm")
    before = {n: fingerprint(package, n) for n in names}
    edited = edit(copy(package, tmp_path / "edited"), module, old, new)
    assert {n for n in names if fingerprint(edited, n) != before[n]} == changed


def test_the_packages_jobs_reach_what_they_run_and_nothing_else():
    clean = reached_symbols("invrob.jobs:evaluate_job", evaluation="clean", arch="stdcnn", dataset="mnist")
    pgd = reached_symbols("invrob.jobs:evaluate_job", evaluation="robustness-pgd", arch="gcnn", dataset="mnist")
    assert "invrob.metrics:clean_accuracy" in clean and "invrob.attacks:LinfPGD" not in clean
    assert "invrob.models:stdcnn" in clean and "invrob.models:gcnn" not in clean  # one architecture's code
    assert "invrob.attacks:LinfPGD" in pgd and "invrob.models:gcnn" in pgd and "invrob.models:stdcnn" not in pgd
    assert not [s for s in clean + pgd if s.startswith(("invrob.training:", "invrob.plotting:"))]
    train = reached_symbols("invrob.jobs:train_job", arch="madry_lenet", dataset="mnist",
                            exclude=("invrob.metrics:clean_accuracy",))  # fmt: skip
    assert "invrob.attacks:LinfPGD" in train and "invrob.training:train" in train  # PGD training
    assert not [s for s in train if s.startswith(("invrob.evaluation:", "invrob.plotting:"))]
    assert "invrob.metrics:clean_accuracy" not in train  # the progress line only: never retrains
    figure = reached_symbols("invrob.jobs:figure_job", kind="rotation_tradeoff")
    assert "invrob.plotting:draw_tradeoff" in figure and "invrob.plotting:draw_pareto" not in figure
    assert job_code("evaluate", evaluation="clean", arch="stdcnn", dataset="mnist") != job_code(
        "evaluate", evaluation="clean", arch="gcnn", dataset="mnist")


def test_every_spaced_evaluation_has_its_normalised_twin_and_figures_do_not_reach_evaluation_code():
    from invrob.evaluation import EVALUATIONS, SPACED, in_space
    from invrob.fingerprint import reached_symbols

    assert all(in_space(name, "normalized") in EVALUATIONS for name in SPACED)
    figure = reached_symbols("invrob.jobs:figure_job", kind="rotation_tradeoff")
    assert "invrob.evaluation:split_space" in figure  # the naming helper only, not the metrics
    assert not [s for s in figure if s.startswith("invrob.metrics:") or s == "invrob.evaluation:EVALUATIONS"]
