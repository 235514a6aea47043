"""Fingerprints of the package code a job runs, so that editing that code reruns that job.

Snakemake reruns a job when its ``params`` change.  The rules pass ``code_fingerprint(...)`` of
the job's entry point as a param: a hash of every top-level function, class and assignment of
``invrob`` that the entry point can reach, found statically (names and ``module.attr`` chains
resolved through the package's imports, lazy imports included).  The hash is taken over the
syntax tree without docstrings and annotations, so a comment, a docstring or reformatting
changes nothing, while any change of behaviour in reached code changes the fingerprint.

Registries keyed by a wildcard are followed for the job's key only, so editing GCNN's class reruns
GCNN's jobs only.  Two kinds: *dispatch tables*, dict literals (``EVALUATIONS[evaluation]``,
``DATASETS[dataset]``), of which only the key's entry (and entries the table builds with ``**``)
is followed; and *plugins* (``invrob.catalog``: architectures, attacks, figure kinds), whose
accessor (``build_model``, ``make_attack``, ``kinds.get``) reaches the key's plugin only: its
function (architectures, attacks) or its whole module (figure kinds); a checkpoint that is no
architecture of the zoo (an imported model, arch ``external``) reaches its builder
(``invrob.models.BUILDERS``) instead.  The analysis reads the sources with ``ast``: it imports nothing (no torch at DAG
time).  It is conservative where it cannot be exact: anything a reached symbol names counts.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "invrob"
PACKAGE_DIR = Path(__file__).resolve().parent

# decorators that say how a job's process starts, not what it computes: left out of every fingerprint
# (forking a job from the job server changes no result, so it reruns nothing)
PROCESS_ONLY = {("invrob.jobserver", "forkable")}
# registries whose entries are picked by a job's wildcard: (module, name) → what the key means
DISPATCH_TABLES = {
    ("invrob.evaluation.registry", "EVALUATIONS"): "evaluation",
    ("invrob.data.registry", "DATASETS"): "dataset",
}
# accessors of plugin folders (invrob.catalog): (module, name) → what the key means (a key of catalog.FOLDERS)
PLUGIN_ACCESSORS = {
    ("invrob.models", "build_model"): "arch",
    ("invrob.models", "build_checkpoint_model"): "arch",
    ("invrob.attacks.base", "make_attack"): "attack",
    ("invrob.figures.kinds", "get"): "kind",
}
MODULE_CODE = "<module>"  # a module's top-level statements that are neither definitions nor imports


@dataclass
class _Module:
    name: str
    package_dir: Path
    is_package: bool = False  # an __init__: its relative imports start at its own package
    symbols: dict[str, list[ast.AST]] = field(default_factory=dict)  # top-level name → defining statements
    imports: dict[str, tuple] = field(default_factory=dict)  # local name → ("module", m) | ("symbol", m, name)
    analysed: dict[int, tuple[str, set]] = field(default_factory=dict)  # id(statement) → (digest, references)

    def analyse(self, node: ast.AST) -> tuple[str, set[tuple[str, str]]]:
        """The digest of a statement's normalised tree and the package symbols it names (once each)."""
        if id(node) not in self.analysed:
            digest = hashlib.sha256(_normalised(node).encode()).hexdigest()
            self.analysed[id(node)] = (digest, _references(node, self))
        return self.analysed[id(node)]


def _resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool, package_dir: Path) -> dict[str, tuple]:
    """The package-internal names an import statement binds (external imports are ignored)."""
    out = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                if alias.asname:
                    out[alias.asname] = ("module", alias.name)
                else:
                    out[alias.name.split(".")[0]] = ("module", PACKAGE)
        return out
    if node.level:
        parts = module.split(".")
        base = parts if is_package else parts[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if not (source == PACKAGE or source.startswith(PACKAGE + ".")):
        return out
    for alias in node.names:
        local = alias.asname or alias.name
        submodule = f"{source}.{alias.name}"
        if _module_path(submodule, package_dir) is not None:
            out[local] = ("module", submodule)
        else:
            out[local] = ("symbol", source, alias.name)
    return out


def _module_path(module: str, package_dir: Path) -> Path | None:
    """The source file of package module ``module`` (a module file or a subpackage's ``__init__``), if any."""
    relative = module.removeprefix(PACKAGE).lstrip(".").replace(".", "/")
    candidates = [package_dir / f"{relative}.py", package_dir / relative / "__init__.py"] if relative else []
    return next((path for path in candidates if path.exists()), None)


def _module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def _bound_names(stmt: ast.AST) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


@functools.cache
def _parse_package(package_dir: Path) -> dict[str, _Module]:
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        is_package = path.stem == "__init__"
        name = _module_name(path, package_dir)
        mod = _Module(name, package_dir, is_package)
        for stmt in ast.parse(path.read_text(), str(path)).body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                mod.imports.update(_resolve(name, stmt, is_package, package_dir))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign,
                                   ast.AugAssign)):  # fmt: skip
                for bound in _bound_names(stmt):
                    mod.symbols.setdefault(bound, []).append(stmt)
            elif not _is_docstring(stmt):
                mod.symbols.setdefault(MODULE_CODE, []).append(stmt)
        for stmts in mod.symbols.values():
            for stmt in stmts:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    stmt.decorator_list = [d for d in stmt.decorator_list
                                           if _resolved(d, mod.imports, mod) not in PROCESS_ONLY]  # fmt: skip
        modules[name] = mod
    return modules


def _resolved(node: ast.AST, imports: dict[str, tuple], mod: _Module) -> tuple[str, str] | None:
    """(module, name) of the package symbol a ``name`` or ``module.name`` expression of ``mod`` is, if it
    is one; ``imports``: the names bound where the expression stands (the module's, plus lazy imports)."""
    if isinstance(node, ast.Name):
        target = imports.get(node.id)
        if target and target[0] == "symbol":
            return target[1], target[2]
        return (mod.name, node.id) if target is None and node.id in mod.symbols else None
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        target = imports.get(node.value.id)
        return (target[1], node.attr) if target and target[0] == "module" else None
    return None


def _is_docstring(stmt: ast.AST) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _normalised(node: ast.AST) -> str:
    """The statement's syntax tree without docstrings, annotations and positions."""
    node = copy.deepcopy(node)
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            if sub.body and _is_docstring(sub.body[0]):
                sub.body = sub.body[1:] or [ast.Pass()]
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
            sub.returns = None
        if isinstance(sub, ast.arg):
            sub.annotation = None
        if isinstance(sub, ast.AnnAssign):
            sub.annotation = ast.Constant(None)
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _references(node: ast.AST, mod: _Module) -> set[tuple[str, str]]:
    """(module, name) of the package symbols that ``node`` names."""
    imports = dict(mod.imports)
    for sub in ast.walk(node):  # lazy imports inside functions
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and sub is not node:
            imports.update(_resolve(mod.name, sub, mod.is_package, mod.package_dir))
    # a function's parameters shadow the module's names in its body (``def html_table(…, caption, …)``
    # does not call the module's ``caption``); defaults, annotations and decorators are outside the body
    params, in_body = set(), set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        params = {arg.arg for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if arg is not None}
        in_body = {id(sub) for stmt in node.body for sub in ast.walk(stmt)}
    refs = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in params and id(sub) in in_body:
            continue
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in params \
                and id(sub) in in_body:  # fmt: skip
            continue
        if isinstance(sub, (ast.Name, ast.Attribute)):
            if (symbol := _resolved(sub, imports, mod)) is not None:
                refs.add(symbol)
        elif isinstance(sub, ast.ImportFrom):  # `from .x import y` reaches y even if y is only re-bound
            bound = _resolve(mod.name, sub, mod.is_package, mod.package_dir).values()
            refs |= {(t[1], t[2]) for t in bound if t[0] == "symbol"}
    return refs


def _table_entry(stmt: ast.AST, key: str, where: str) -> list[ast.AST]:
    """The parts of a dispatch table's dict literal that ``key`` selects (plus its ``**`` splats)."""
    value = stmt.value
    if not isinstance(value, ast.Dict):
        raise ValueError(f"{where} is a dispatch table but not a dict literal")
    return [v for k, v in zip(value.keys, value.values) if (k is None and _splat_may_hold(v, key))
            or (isinstance(k, ast.Constant) and k.value == key)]  # fmt: skip


def _splat_may_hold(node: ast.AST, key: str) -> bool:
    """Whether a ``**{f"prefix-{x}": … for x in …}`` part of a dict literal can make ``key``."""
    if not (isinstance(node, ast.DictComp) and isinstance(node.key, ast.JoinedStr)):
        return True  # cannot tell: keep it
    pattern = "".join(re.escape(p.value) if isinstance(p, ast.Constant) else ".*" for p in node.key.values)
    return re.fullmatch(pattern, key) is not None


def _closure(entries: tuple[str, ...], keys: tuple[tuple[str, str], ...], exclude: tuple[str, ...],
             package_dir: Path) -> list[str]:  # fmt: skip
    modules, keys, excluded = _parse_package(package_dir), dict(keys), {tuple(e.split(":")) for e in exclude}
    todo = [tuple(e.split(":")) for e in entries]
    seen, parts = set(), []
    while todo:
        module, name = todo.pop()
        if (module, name) in seen or (module, name) in excluded:
            continue
        seen.add((module, name))
        mod = modules.get(module)
        if mod is None:
            raise ValueError(f"code_fingerprint: no module {module} in {package_dir}")
        if name in mod.imports and name not in mod.symbols:  # a re-export: follow it (modules: their names)
            target = mod.imports[name]
            if target[0] == "symbol":
                todo.append((target[1], target[2]))
            continue
        stmts = mod.symbols.get(name)
        if stmts is None:
            raise ValueError(f"code_fingerprint: {module} defines no '{name}'")
        table = DISPATCH_TABLES.get((module, name))
        if table is not None and table in keys:
            nodes = [p for s in stmts for p in _table_entry(s, keys[table], f"{module}.{name}")]
            if not nodes:
                raise ValueError(f"code_fingerprint: {module}.{name} has no entry '{keys[table]}'")
        else:
            nodes = stmts
        for node in nodes:
            digest, refs = mod.analyse(node)
            parts.append(f"{module}:{name}:{digest}")
            todo.extend(refs)
        accessor = PLUGIN_ACCESSORS.get((module, name))
        if accessor is not None:
            todo.extend(_plugin_symbols(modules, accessor, keys.get(accessor), package_dir))
        if MODULE_CODE in mod.symbols:
            todo.append((module, MODULE_CODE))
    return sorted(parts)


def _plugin_symbols(modules: dict[str, _Module], what: str, key: str | None, package_dir: Path) -> list[tuple]:
    """What a plugin accessor reaches: the key's plugin (its function, or the whole module of a folder
    with one plugin per module), or every plugin of the folder without a key."""
    from . import catalog
    from .models import BUILDERS

    if what == "arch" and key in BUILDERS:  # a checkpoint not of the zoo (an imported model): its builder
        return [tuple(BUILDERS[key].split(":"))]
    folder = catalog.FOLDERS[what]
    found = catalog._plugins(folder, package_dir.joinpath(*folder.package.split(".")[1:]))
    if key is not None and key not in found:
        raise ValueError(f"code_fingerprint: no {folder.what} '{key}' in {folder.package}")
    out = []
    for plugin in [found[key]] if key is not None else list(found.values()):
        if folder.declaration is None:
            module = modules[plugin.module]  # the whole module, names it imports to use as its own included
            out += [(plugin.module, symbol) for symbol in [*module.symbols, *module.imports]]
        else:  # its function, the declaration (title, default settings) and the module's other top-level code
            out += [(plugin.module, plugin.name), (plugin.module, folder.declaration)]
            if MODULE_CODE in modules[plugin.module].symbols:
                out.append((plugin.module, MODULE_CODE))
    return out


@functools.cache
def _fingerprint(entries: tuple[str, ...], keys: tuple[tuple[str, str], ...], exclude: tuple[str, ...],
                 package_dir: Path) -> str:  # fmt: skip
    digest = hashlib.sha256("\n".join(_closure(entries, keys, exclude, package_dir)).encode())
    return digest.hexdigest()[:16]


def code_fingerprint(*entries: str, exclude: tuple[str, ...] = (), package_dir: Path = PACKAGE_DIR,
                     **keys: str) -> str:  # fmt: skip
    """Hash of the package code reachable from ``entries`` (``"invrob.jobs:train_job"``, …).

    ``keys`` select the entries of the dispatch tables (``evaluation=``, ``arch=``, ``dataset=``,
    ``kind=``); a table reached without its key counts whole.  ``exclude`` names symbols left out
    on purpose (with the reason at the call site); ``package_dir`` is the package's source folder.
    """
    return _fingerprint(*_arguments(entries, exclude, keys), Path(package_dir))


def reached_symbols(*entries: str, exclude: tuple[str, ...] = (), package_dir: Path = PACKAGE_DIR,
                    **keys: str) -> list[str]:  # fmt: skip
    """``module:name`` of every symbol ``code_fingerprint`` hashes (to see why a job would rerun)."""
    parts = _closure(*_arguments(entries, exclude, keys), Path(package_dir))
    return sorted({":".join(p.split(":", 2)[:2]) for p in parts})


def _arguments(entries, exclude, keys) -> tuple:
    unknown = set(keys) - set(DISPATCH_TABLES.values()) - set(PLUGIN_ACCESSORS.values())
    if unknown:
        raise ValueError(f"code_fingerprint: unknown keys {sorted(unknown)}")
    return tuple(sorted(entries)), tuple(sorted(keys.items())), tuple(sorted(exclude))
