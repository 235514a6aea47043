"""One lock for every install: constraints.txt pins all, environment.yml and the environment agree."""

import importlib.metadata as md
import re

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import REPO


def pins(lines) -> dict:
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[\w.+!-]+", version), f"not an exact pin: {line!r}"
            out[canonicalize_name(name)] = version
    return out


CONSTRAINTS = pins((REPO / "constraints.txt").read_text().splitlines())
ENVIRONMENT = yaml.safe_load((REPO / "environment.yml").read_text())


def runtime_closure(name: str = "invrob") -> set[str]:
    """Every distribution ``name`` needs at run time (no extras), from the installed metadata."""
    seen, todo = set(), [name]
    while todo:
        dist = canonicalize_name(todo.pop())
        if dist in seen:
            continue
        seen.add(dist)
        for spec in md.requires(dist) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen - {canonicalize_name(name)}


def test_every_declared_dependency_has_an_exact_pin():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"] + ["torchattacks"]
    missing = [d for d in declared if canonicalize_name(Requirement(d).name) not in CONSTRAINTS]
    assert not missing, f"add to constraints.txt: {missing}"
    assert "scipy" in {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}  # SVHN
    for dep in project["dependencies"]:
        req = Requirement(dep)
        assert CONSTRAINTS[canonicalize_name(req.name)] in req.specifier, f"constraints.txt violates {dep}"


def test_this_environment_is_the_locked_one():
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in md.distributions()}
    needed = runtime_closure() | {"pytest", "pytest-benchmark", "torchattacks"}
    assert needed <= set(CONSTRAINTS), f"not in constraints.txt: {sorted(needed - set(CONSTRAINTS))}"
    drift = {n: (installed.get(n), CONSTRAINTS[n]) for n in needed if installed.get(n) != CONSTRAINTS[n]}
    assert not drift, f"installed vs constraints.txt (rerun ./setup.sh --tests): {drift}"
    # torchattacks pins requests~=2.25.1; setup.sh installs it with --no-deps to keep a fixed requests
    assert Version(installed["requests"]) >= Version("2.32.4") and Version(CONSTRAINTS["requests"]) >= Version("2.32.4")


def test_environment_yml_installs_the_locked_runtime_and_works_when_copied():
    deps = ENVIRONMENT["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    # nothing relative to the file (Snakemake's --sdm conda copies it under .snakemake/conda/)
    assert not [line for line in pip if line.startswith("-") or "/" in line or line.startswith(".")]
    env = pins(pip)
    assert {n: v for n, v in env.items() if CONSTRAINTS.get(n) != v} == {}
    assert runtime_closure() <= set(env), f"add to environment.yml: {sorted(runtime_closure() - set(env))}"
    for rules in (REPO / "rules").glob("*.smk"):
        assert set(re.findall(r'conda:\s*"([^"]+)"', rules.read_text())) <= {"../environment.yml"}
    for script in (REPO / "scripts").glob("*.py"):  # the workflow's own package, installed or not
        assert "sys.path.insert(0, str(Path(__file__).resolve().parents[1]))" in script.read_text(), script


def test_setup_and_ci_install_from_the_lock_into_a_virtualenv():
    setup, ci = (REPO / "setup.sh").read_text(), (REPO / ".ci" / "run").read_text()
    assert "python3 -m venv" in setup and "-c constraints.txt" in setup and "--no-deps torchattacks" in setup
    assert "./setup.sh --tests" in ci and ".venv/bin/python -m pytest" in ci
    readme = (REPO / "README.md").read_text()
    assert "./setup.sh --tests && .venv/bin/python -m pytest" in readme
