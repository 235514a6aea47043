"""One home per name: the catalog of plugins, and the config schema checked against the code's registries."""

import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from invrob import catalog, external
from invrob.attacks import BACKENDS, EPSILON_SPACES, SPATIAL_ATTACKS
from invrob.data.registry import DATASETS
from invrob.evaluation import names
from invrob.figures import kinds
from invrob.figures.plan import PANEL_KEYS

SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
PAPER_CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
PANEL = SCHEMA["$defs"]["panel"]["properties"]


def test_the_schemas_enums_are_the_codes_registries():
    assert SCHEMA["$defs"]["dataset_name"]["enum"] == list(DATASETS)
    assert PANEL["spatial"]["items"]["enum"] == list(SPATIAL_ATTACKS)
    assert PANEL["evaluations"]["items"]["enum"] == [*(names.success(a, n) for a in names.SUCCESS_ATTACKS
                                                       for n in names.PGD_NORMS),
                                                     *(names.spatial(a) for a in SPATIAL_ATTACKS)]  # fmt: skip
    assert PANEL["transform"]["enum"] == PANEL["invariance"]["items"]["enum"] == list(names.INVARIANCE_FAMILIES)
    assert PANEL["epsilon_space"]["enum"] == list(EPSILON_SPACES)
    assert SCHEMA["properties"]["evaluation"]["properties"]["attack_backend"]["enum"] == list(BACKENDS)
    from invrob.attacks.autoattack import ATTACKS, VERSIONS  # the schema's AutoAttack settings are the module's

    assert SCHEMA["$defs"]["autoattack"]["properties"]["version"]["enum"] == list(VERSIONS)
    assert set(SCHEMA["$defs"]["autoattack"]["properties"]) == set(ATTACKS["autoattack"]["settings"])
    # the keys a panel takes from its figure (a pareto figure's `table` names the cusp table it draws, an
    # attack_gap's `source` the target whose models it re-evaluates)
    assert set(PANEL_KEYS) == set(PANEL) - {"kind", "panels", "table", "source"}


def test_plugin_names_are_the_catalogs_not_the_schemas():
    """Architectures, attacks and kinds are listed once, by their modules: the schema only types them, and
    the config checks name the known ones (see test_extending.py for an unknown one)."""
    assert "enum" not in SCHEMA["$defs"]["arch_name"] and "enum" not in PANEL["attack"]
    figure_kind = SCHEMA["properties"]["figures"]["additionalProperties"]["allOf"][1]["properties"]["kind"]
    assert "enum" not in figure_kind
    titles = catalog.architecture_titles()
    assert set(PAPER_CONFIG["training"]) == set(titles)  # every architecture has the papers' training settings
    assert titles["gcnn"] == "GCNN" and titles["p4vgg16"] == "P4-VGG16 (GCNN)"
    assert catalog.attack_titles() == {"autoattack": "AutoAttack", "fgsm": "FGSM", "pgd": "PGD"}
    assert catalog.attack_defaults("pgd") == {} and catalog.attack_defaults("fgsm") == {}  # PGD's: datasets.*.pgd


def test_every_kind_module_keeps_the_contract_and_the_papers_use_every_kind():
    used = {entry["kind"] for section in ("figures", "tables") for entry in PAPER_CONFIG[section].values()}
    # the kinds of a researcher's own models (external_models: none in the papers' config; test_external)
    assert used == set(kinds.names()) - set(external.KINDS.values())
    for name in kinds.names():
        kind = kinds.get(name)
        assert kind.SECTION in ("figures", "tables") and kind.DOC and callable(kind.models), name
        assert callable(kind.draw if kind.SECTION == "figures" else kind.table), name
        assert kind.__doc__, name


def test_the_dag_layer_imports_no_torch_and_no_matplotlib():
    code = ("import sys; import invrob.pipeline, invrob.guards, invrob.config, invrob.report; "
            "from invrob.figures import kinds; [kinds.get(k) for k in kinds.names()]; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'seaborn', 'torchvision') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "source,message",
    [
        ('TITLES = {"ghost": "Ghost"}\n\ndef other():\n    pass\n', r"names \['ghost'\], but the module defines no function"),
        ('TITLES = dict(ghost="Ghost")\n\ndef ghost():\n    pass\n', "must be a literal"),
        ('TITLES = {"stdcnn": "Again"}\n\ndef stdcnn():\n    pass\n', "'stdcnn' is declared twice"),
    ],
)
def test_a_plugin_module_that_breaks_the_contract_is_named(tmp_path, source, message):
    (tmp_path / "a.py").write_text('TITLES = {"stdcnn": "StdCNN"}\n\ndef stdcnn():\n    pass\n')
    (tmp_path / "b.py").write_text(source)
    with pytest.raises(catalog.CatalogError, match=message) as info:
        catalog._plugins(catalog.ARCHITECTURES, tmp_path)
    assert "b.py" in str(info.value)


def test_unknown_names_get_the_known_ones():
    with pytest.raises(catalog.CatalogError, match=r"unknown architecture 'lenet5'; known: \['gcnn'"):
        catalog.plugin(catalog.ARCHITECTURES, "lenet5")
    with pytest.raises(ValueError, match="unknown evaluation 'robustness-cw'"):
        names.parse("robustness-cw")


def test_evaluation_names_round_trip():
    for name, e in names.known().items():
        assert str(e) == name and names.parse(name) is e
    assert names.split_space("robustness-pgd-rotated-normalized") == ("robustness-pgd-rotated", "normalized")
    assert names.parse("invariance-rt") == names.Evaluation("invariance", "rt")
    assert "pgd-linf-normalized" not in names.known() and "clean-normalized" not in names.known()


def test_config_readme_documents_every_key_and_is_current():
    from invrob.config import reference, undocumented

    assert undocumented(SCHEMA) == []  # every key of the schema says what it is
    current = (REPO / "config" / "README.md").read_text()
    assert current == reference(SCHEMA), "config/README.md is stale: python -m invrob.config > config/README.md"


def test_every_import_of_the_package_resolves_lazy_ones_included():
    """Moving a module must move its lazy imports too: every `from .x import y` inside a function names
    a module and a symbol that exist (found statically, as the code fingerprints read the package)."""
    import ast

    package = REPO / "invrob"
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}  # fmt: skip
    missing = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
            if source not in modules:
                missing.append(f"{path.relative_to(REPO)}:{node.lineno}: no module {source}")
                continue
            defined = {n.id for n in ast.walk(ast.parse(modules[source].read_text())) if isinstance(n, ast.Name)}
            defined |= {n.name for n in ast.walk(ast.parse(modules[source].read_text()))
                        if isinstance(n, (ast.FunctionDef, ast.ClassDef))}  # fmt: skip
            defined |= {(a.asname or a.name).split(".")[0] for n in ast.walk(ast.parse(modules[source].read_text()))
                        if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}  # fmt: skip
            for alias in node.names:
                if f"{source}.{alias.name}" not in modules and alias.name not in defined:
                    missing.append(f"{path.relative_to(REPO)}:{node.lineno}: {source} has no {alias.name}")
    assert missing == []


def test_each_layer_knows_every_transform_family():
    """The transform families (rotation, translation, rt) keep one table per layer on purpose: the
    measure's ranges, the training sweep's recipes and the figures' axes; the code fingerprints hash
    whole statements, so one shared table would rerun every invariance evaluation when an axis label
    changes.  The tables must agree on the families."""
    from invrob.evaluation.measures import SPATIAL_FAMILIES
    from invrob.figures.plan import FAMILY_RECIPES
    from invrob.figures.style import FAMILY_AXES, TRAINING_DESCRIPTIONS

    for table in (SPATIAL_FAMILIES, FAMILY_RECIPES, FAMILY_AXES, TRAINING_DESCRIPTIONS):
        assert tuple(table) == names.INVARIANCE_FAMILIES


def test_spatial_attack_labels_follow_the_grids_and_the_configured_limits():
    from invrob.figures.style import spatial_attack_label

    limits = {"max_px": 3.0, "max_deg": 30.0}
    assert spatial_attack_label("grid775", limits) == "grid775 (±3 px × 5, ±30° × 31)"
    assert spatial_attack_label("grid775-10", limits) == "grid775, 10° (±3 px × 5, ±10° × 31)"
    assert spatial_attack_label("rot30", limits) == "rot30 (±30° × 31)"  # one translation: none tried
    assert spatial_attack_label("spgd", {"max_px": 2.0, "max_deg": 12.5}) == "S-PGD (±2 px, ±12.5°)"
    assert spatial_attack_label("worst-of-k", limits) == "worst-of-k random (±3 px, ±30°)"
    labels = [spatial_attack_label(a, limits) for a in SPATIAL_ATTACKS]  # each named with what it tries
    assert len(set(labels)) == len(SPATIAL_ATTACKS) and all(" (" in lb for lb in labels)
