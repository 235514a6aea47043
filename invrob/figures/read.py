"""Reading a plan's evaluation files: every file once, a value per seed, a profile's mean and std over seeds."""

from __future__ import annotations

import numpy as np

from ..io import read_json
from .plan import plan_files


def load_evaluations(plan: dict) -> dict[str, dict]:
    """Every evaluation file of the plan, read once: {path: contents}."""
    return {path: read_json(path) for path in plan_files(plan)}


def seed_values(model: dict, evaluation: str, evals: dict, get) -> np.ndarray:
    """``get(results)`` of ``evaluation`` for each seed of ``model``: an array with seeds on axis 0."""
    return np.asarray([get(evals[by_ev[evaluation]]["results"]) for by_ev in model["evals"].values()], dtype=float)


def profile(model: dict, evaluation: str, evals: dict, x_key: str, y_key: str) -> tuple[np.ndarray, ...]:
    """(x, mean, std) of a profile over seeds; the seeds' grids must agree."""
    xs = seed_values(model, evaluation, evals, lambda r: r[x_key])
    if not np.allclose(xs, xs[0]):
        raise ValueError(f"evaluation files of {model['recipe']} disagree on the {x_key} grid; rerun them")
    ys = seed_values(model, evaluation, evals, lambda r: r[y_key])
    return xs[0], ys.mean(0), ys.std(0)


def value_at(model: dict, evaluation: str, evals: dict, x_key: str, y_key: str, x: float) -> np.ndarray:
    """The profile value at grid point ``x``, per seed."""

    def get(r):
        grid = np.asarray(r[x_key], dtype=float)
        hits = np.flatnonzero(np.isclose(grid, x, atol=1e-9))
        if not len(hits):
            raise ValueError(f"{x_key} = {x:g} is not on the evaluated grid {grid.tolist()}")
        return r[y_key][hits[0]]

    return seed_values(model, evaluation, evals, get)


def first_evaluation(panel: dict, evals: dict, evaluation: str | None = None) -> dict:
    by_ev = next(iter(panel["models"][0]["evals"].values()))
    return evals[by_ev[evaluation] if evaluation else next(iter(by_ev.values()))]
