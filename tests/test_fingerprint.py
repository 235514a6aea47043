"""Code fingerprints: behaviour changes in the code a job reaches change them, nothing else does."""

import textwrap

import pytest

from invrob.fingerprint import code_fingerprint, reached_symbols
from invrob.pipeline import job_code

EVALUATION = '''
"""Evaluations."""
from ..helpers import accuracy, unused_helper


def _clean(x):
    """Clean accuracy."""
    return accuracy(x)  # the plain one


def _attack(name):
    def run(x):
        from ..attacks import attack  # lazy, as in invrob.jobs
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


MODULES = {"evaluation": "evaluation/registry"}  # the test's short names of the package's modules


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "invrob"
    root.mkdir()
    files = {"__init__": '"""A package."""\n', "evaluation/__init__": '"""A subpackage."""\n',
             "evaluation/registry": EVALUATION, "helpers": HELPERS, "attacks": ATTACKS,
             "jobserver": "def forkable(f):\n    return f\n\n\ndef traced(f):\n    return f\n"}  # as the real layout
    for name, text in files.items():
        (root / f"{name}.py").parent.mkdir(exist_ok=True)
        (root / f"{name}.py").write_text(textwrap.dedent(text))
    return root


def fingerprint(root, evaluation):
    return code_fingerprint("invrob.evaluation.registry:evaluate_job", package_dir=root, evaluation=evaluation)


def edit(root, module, old, new):
    path = root / f"{MODULES.get(module, module)}.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return root


def copy(root, dest):
    for path in root.rglob("*.py"):
        (dest / path.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
        (dest / path.relative_to(root)).write_text(path.read_text())
    return dest


def test_reached_symbols_follow_imports_dispatch_tables_and_lazy_imports(package):
    entry = "invrob.evaluation.registry:evaluate_job"
    assert reached_symbols(entry, package_dir=package, evaluation="clean") == [
        "invrob.evaluation.registry:EVALUATIONS", "invrob.evaluation.registry:_clean",
        "invrob.evaluation.registry:evaluate_job", "invrob.helpers:SCALE", "invrob.helpers:accuracy"]  # fmt: skip
    pgd = reached_symbols(entry, package_dir=package, evaluation="attack-pgd")
    assert "invrob.attacks:attack" in pgd and "invrob.helpers:accuracy" in pgd
    assert "invrob.evaluation.registry:_clean" not in pgd
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


@pytest.mark.parametrize("imports, decorator, same", [
    ("from ..jobserver import forkable", "@forkable", True),  # how the job's process starts (invrob.jobserver)
    ("from .. import jobserver", "@jobserver.forkable", True),
    ("from ..jobserver import traced", "@traced", False),  # any other decorator may change what it computes
])
def test_the_job_servers_decorator_is_left_out_of_fingerprints(package, tmp_path, imports, decorator, same):
    before = fingerprint(package, "clean")
    edited = edit(copy(package, tmp_path / "edited"), "evaluation", "\n\ndef evaluate_job(name, x):",
                  f"\n{imports}\n\n\n{decorator}\ndef evaluate_job(name, x):")
    assert (fingerprint(edited, "clean") == before) is same


def test_the_packages_jobs_reach_what_they_run_and_nothing_else():
    clean = reached_symbols("invrob.jobs:evaluate_job", evaluation="clean", arch="stdcnn", dataset="mnist")
    pgd = reached_symbols("invrob.jobs:evaluate_job", evaluation="robustness-pgd", arch="gcnn", dataset="mnist")
    assert "invrob.evaluation.measures:clean_accuracy" in clean and "invrob.attacks.pgd:LinfPGD" not in clean
    # one architecture's code: the plugin's factory and the classes it builds
    assert "invrob.models.zoo.table3:stdcnn" in clean and "invrob.models.zoo.table3:gcnn" not in clean
    assert "invrob.models.layers:P4ConvP4" not in clean and "invrob.models.layers:P4ConvP4" in pgd
    assert "invrob.attacks.pgd:LinfPGD" in pgd and "invrob.models.zoo.table3:gcnn" in pgd
    assert "invrob.models.zoo.table3:stdcnn" not in pgd and "invrob.models.zoo.vgg:VGG" not in pgd
    assert not [s for s in clean + pgd if s.startswith(("invrob.training.", "invrob.figures."))]
    train = reached_symbols("invrob.jobs:train_job", arch="madry_lenet", dataset="mnist",
                            exclude=("invrob.evaluation.measures:clean_accuracy",))  # fmt: skip
    assert "invrob.attacks.pgd:LinfPGD" in train and "invrob.training.loop:train" in train  # PGD training
    assert not [s for s in train if s.startswith(("invrob.evaluation.registry:", "invrob.figures."))]
    assert "invrob.evaluation.measures:clean_accuracy" not in train  # the progress line only: never retrains
    figure = reached_symbols("invrob.jobs:figure_job", kind="rotation_tradeoff")
    assert "invrob.figures.kinds._tradeoff:draw_tradeoff" in figure
    assert not [s for s in figure if s.startswith("invrob.figures.kinds.pareto:")]  # one kind's module only
    # a parameter is not the module-level name it shadows: html_table(…, caption, …) calls no report.caption
    claims = reached_symbols("invrob.jobs:claims_job")
    assert "invrob.report:html_table" in claims and "invrob.report:caption" not in claims
    assert not [s for s in claims if s.startswith("invrob.figures.kinds.pareto:")]
    assert job_code("evaluate", evaluation="clean", arch="stdcnn", dataset="mnist") != job_code(
        "evaluate", evaluation="clean", arch="gcnn", dataset="mnist")
    # both ε spaces of an evaluation run the same code
    assert job_code("evaluate", evaluation="deepfool", arch="gcnn", dataset="mnist") == job_code(
        "evaluate", evaluation="deepfool-normalized", arch="gcnn", dataset="mnist")


def test_every_spaced_evaluation_has_its_normalised_twin_and_figures_do_not_reach_evaluation_code():
    from invrob.evaluation.names import SPACED_FAMILIES, known
    from invrob.evaluation.registry import EVALUATIONS

    spaced = [e for e in known().values() if e.family in SPACED_FAMILIES and e.space == "pixel"]
    assert spaced and all(f"{e}-normalized" in known() for e in spaced)
    assert {e.base for e in known().values()} == set(EVALUATIONS)  # the registry runs every name
    figure = reached_symbols("invrob.jobs:figure_job", kind="rotation_tradeoff")
    assert "invrob.evaluation.names:parse" in figure  # the naming helper only, not the metrics
    assert not [s for s in figure if s.startswith(("invrob.evaluation.measures:", "invrob.evaluation.registry:"))]
