"""The claims file (``config/claims.yaml``): read, checked for shape, and checked against the plans of the
targets it names (before any job runs)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..evaluation import names as evaluation_names
from . import CLAIM_TYPES, CUSP_VALUES, OPERATORS, OVER_SNAPSHOTS, REDUCE, RESULT_KEYS, ClaimError, NotMeasured
from .read import _panel


def load_claims(path: str | Path) -> list[dict]:
    """The claims of ``path``, checked for shape (not yet against a config)."""
    try:
        claims = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C if built
    except (OSError, yaml.YAMLError) as exc:
        raise ClaimError(f"{path}: cannot read the claims ({exc})") from None
    if not isinstance(claims, list) or not claims:
        raise ClaimError(f"{path}: expected a non-empty list of claims")
    seen = set()
    for i, claim in enumerate(claims):
        where = f"{path}: claim {i + 1}" + (f" ('{claim.get('id')}')" if isinstance(claim, dict) else "")
        _check_shape(claim, where)
        if claim["id"] in seen:
            raise ClaimError(f"{where}: the id is used twice; give every claim its own id")
        seen.add(claim["id"])
    return claims


def _check_shape(claim, where: str) -> None:
    if not isinstance(claim, dict):
        raise ClaimError(f"{where}: a claim is a mapping (id, paper, where, quote, type, …)")
    missing = [k for k in ("id", "paper", "where", "quote", "type", "expect") if k not in claim]
    if missing:
        raise ClaimError(f"{where}: missing {', '.join(missing)}")
    kind = claim["type"]
    if kind not in CLAIM_TYPES:
        raise ClaimError(f"{where}: type '{kind}' is not one of {', '.join(CLAIM_TYPES)}")
    needs = {"level": ("value",), "trend": ("series",), "compare": ("a", "b")}[kind]
    for key in needs:
        if not isinstance(claim.get(key), dict) or "target" not in claim[key]:
            raise ClaimError(f"{where}: a {kind} claim needs '{key}' with at least a 'target'")
    expect = claim["expect"]
    if kind == "trend":
        if expect not in ("increasing", "decreasing"):
            raise ClaimError(f"{where}: a trend expects 'increasing' or 'decreasing', not {expect!r}")
        return
    if not isinstance(expect, dict) or expect.get("op") not in OPERATORS:
        raise ClaimError(f"{where}: expect needs op: one of {' '.join(OPERATORS)}")
    if kind == "level" and "value" not in expect:
        raise ClaimError(f"{where}: a level claim's expect needs the paper's 'value'")
    if expect["op"] == "≈" and "tolerance" not in expect:
        raise ClaimError(f"{where}: '≈' needs a tolerance (absolute, in the quantity's units)")
    if kind == "compare" and expect["op"] == "≈":
        raise ClaimError(f"{where}: a compare claim expects '>' or '<'")


def selectors(claim: dict) -> list[dict]:
    return [claim[k] for k in ("value", "series", "a", "b") if k in claim]


def targets_of(claims: list[dict]) -> list[str]:
    """The figures and tables the claims read, in order."""
    return list(dict.fromkeys(sel["target"] for claim in claims for sel in selectors(claim)))


def check_claims(plans: dict, claims: list[dict], configured: set[str]) -> None:
    """Every selector names a target of the config (``configured``) and a known evaluation.  At a
    reduced scale a panel, model or evaluation may be absent: that is 'not built', not an error."""
    for claim in claims:
        where = f"claim '{claim['id']}'"
        for sel in selectors(claim):
            if sel["target"] not in configured:
                raise ClaimError(f"{where}: no figure or table '{sel['target']}' in the config")
            _check_keys(sel, where)
            try:
                _panel(plans[sel["target"]], sel)
            except NotMeasured:
                continue
            if sel.get("evaluation") == "cusp":
                if plans[sel["target"]]["kind"] != "cusp" or sel.get("y") not in CUSP_VALUES:
                    raise ClaimError(f"{where}: evaluation 'cusp' reads a cusp table; its y is one of "
                                     f"{', '.join(CUSP_VALUES)}")  # fmt: skip
                continue
            role = sel.get("evaluation", "clean")
            if role not in known_roles():
                raise ClaimError(f"{where}: unknown evaluation '{role}'; known: {', '.join(sorted(known_roles()))}")


def _check_keys(sel: dict, where: str) -> None:
    y = sel.get("y", "accuracy")
    known = CUSP_VALUES if sel.get("evaluation") == "cusp" else RESULT_KEYS
    if y not in known:
        raise ClaimError(f"{where}: y '{y}' is not one of {', '.join(known)}")
    for key, options in (("reduce", REDUCE), ("over_snapshots", OVER_SNAPSHOTS)):
        if key in sel and sel[key] not in options:
            raise ClaimError(f"{where}: {key} '{sel[key]}' is not one of {', '.join(options)}")


def known_roles() -> set[str]:
    """The evaluations a selector may name: every evaluation (without its ε-space suffix), the panel's
    attack as ``robustness`` / ``robustness-rotated``, and ``cusp`` (a cusp table's row values)."""
    return {e.base for e in evaluation_names.known().values()} | {"robustness", "robustness-rotated", "cusp", "theorem2"}
