"""What the workflow knows by name, read without importing torch: architectures, attacks and figure kinds.

Each of these is a *plugin*: a module in a folder of the package, found by listing the folder, so that
adding one is adding one module (and its config entry), never editing a list elsewhere.

- An **architecture** lives in ``invrob/models/zoo/``: a module declares ``TITLES = {name: title}``
  (a literal dict) and defines a factory ``name(in_shape, num_classes, mean, std) -> nn.Module`` for
  each name.  The name is the config's ``training:`` key; the title is what figures call it.
- A **robustness attack** (an ℓ∞ attack whose accuracy-vs-ε profile is the evaluation
  ``robustness-{name}``) lives in ``invrob/attacks/``: a module declares ``ATTACKS = {name: {"title":
  …, "settings": {…defaults}}}`` (literal) and optionally ``"radii"``, and defines ``name(model, eps, settings, generator) -> attack``,
  an object whose ``perturb(x, y)`` returns adversarial images.
- A **figure or table kind** is one module of ``invrob/figures/kinds/``, named as the kind (see
  there: what it needs, how it checks its config entry, how it draws, its caption).

The literal declarations are read from the modules' source (``ast``), so the DAG, the config checks
and the code fingerprints (``invrob.fingerprint``) know every name without importing torch; the
modules themselves are imported only by the jobs that run them.
"""

from __future__ import annotations

import ast
import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent


class CatalogError(ValueError):
    """A plugin module that does not declare what the catalog needs (the message names the file)."""


@dataclass(frozen=True)
class Plugin:
    """One named entry of a plugin folder: its module and its literal declaration."""

    name: str
    module: str  # dotted module name, e.g. "invrob.models.zoo.table3"
    path: Path
    declared: object  # what the module's declaration says of this name (a title, a dict of settings)


@dataclass(frozen=True)
class Folder:
    """A plugin folder: modules under ``package`` that each declare ``declaration`` (a literal
    ``{name: …}`` dict), or, when it is None, one plugin per module named as the module."""

    package: str
    declaration: str | None
    what: str  # for messages: "architecture", "attack", "figure kind"

    @property
    def directory(self) -> Path:
        return PACKAGE_DIR.joinpath(*self.package.split(".")[1:])


ARCHITECTURES = Folder("invrob.models.zoo", "TITLES", "architecture")
ATTACKS = Folder("invrob.attacks", "ATTACKS", "attack")
FIGURE_KINDS = Folder("invrob.figures.kinds", None, "figure or table kind")
FOLDERS = {"arch": ARCHITECTURES, "attack": ATTACKS, "kind": FIGURE_KINDS}


def _literal(path: Path, name: str) -> object | None:
    """The value of the top-level ``name = <literal>`` of a module's source (None if it has none)."""
    tree = ast.parse(path.read_text(), str(path))
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and stmt.value is not None:
            try:
                return ast.literal_eval(stmt.value)
            except ValueError:
                raise CatalogError(f"{path}: {name} must be a literal (a dict of names), so that it can be read "
                                   f"without importing the module") from None  # fmt: skip
    return None


def _defines(path: Path) -> set[str]:
    return {s.name for s in ast.parse(path.read_text(), str(path)).body
            if isinstance(s, (ast.FunctionDef, ast.ClassDef))}  # fmt: skip


@functools.cache
def _plugins(folder: Folder, directory: Path) -> dict[str, Plugin]:
    out: dict[str, Plugin] = {}
    for path in sorted(directory.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = f"{folder.package}.{path.stem}"
        if folder.declaration is None:
            out[path.stem] = Plugin(path.stem, module, path, None)
            continue
        declared = _literal(path, folder.declaration)
        if declared is None:
            continue  # a helper module of the folder
        if not isinstance(declared, dict):
            raise CatalogError(f"{path}: {folder.declaration} must be a dict {{name: …}}")
        missing = [name for name in declared if name not in _defines(path)]
        if missing:
            raise CatalogError(f"{path}: {folder.declaration} names {missing}, but the module defines no function "
                               f"of that name; define `def {missing[0]}(...)` there")  # fmt: skip
        for name, value in declared.items():
            if name in out:
                raise CatalogError(f"{folder.what} '{name}' is declared twice: in {out[name].path} and {path}")
            out[name] = Plugin(name, module, path, value)
    return out


def plugins(folder: Folder) -> dict[str, Plugin]:
    """Every plugin of ``folder``, by name (sorted by module, then declaration order)."""
    return _plugins(folder, folder.directory)


def names(folder: Folder) -> list[str]:
    return list(plugins(folder))


def plugin(folder: Folder, name: str) -> Plugin:
    """The plugin ``name`` of ``folder``; a short error listing the known ones otherwise."""
    found = plugins(folder)
    if name not in found:
        raise CatalogError(f"unknown {folder.what} '{name}'; known: {sorted(found)} (each is a module of "
                           f"{folder.directory.relative_to(PACKAGE_DIR.parent)}/)")  # fmt: skip
    return found[name]


def load(folder: Folder, name: str) -> ModuleType:
    """The module of plugin ``name`` (imported: this is where torch comes in, for models and attacks)."""
    return importlib.import_module(plugin(folder, name).module)


def implementation(folder: Folder, name: str):
    """The function or class that implements plugin ``name`` (the module's top-level of that name)."""
    return getattr(load(folder, name), name)


# --------------------------------------------------------------------------- the catalog's views


def architecture_titles() -> dict[str, str]:
    """{architecture: title in figures}, e.g. {"gcnn": "GCNN", …}."""
    return {name: p.declared for name, p in plugins(ARCHITECTURES).items()}


def architecture_title(name: str) -> str:
    return architecture_titles().get(name, name)


def attack_titles() -> dict[str, str]:
    """{robustness attack: title}, e.g. {"pgd": "PGD", "fgsm": "FGSM"}."""
    return {name: p.declared["title"] for name, p in plugins(ATTACKS).items()}


def attack_defaults(name: str) -> dict:
    """The attack's default settings (its module's declaration), before the config's."""
    return dict(plugin(ATTACKS, name).declared.get("settings") or {})
