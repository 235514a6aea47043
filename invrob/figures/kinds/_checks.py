"""The config checks several kinds make (their ``check``): an ε on the robustness grid, test ranges evaluated."""

from __future__ import annotations

from ...config import ConfigError
from ...units import parse_epsilon


def require_epsilon_on_grid(where: str, panel: dict, epsilons: set) -> None:
    """The panel's ``epsilon`` must be a point of its dataset's robustness grid (``epsilons``, rounded)."""
    if round(parse_epsilon(panel["epsilon"]), 9) not in epsilons:
        raise ConfigError(f"{where}: epsilon {panel['epsilon']} is not on the robustness grid of {panel['dataset']} "
                          f"(datasets.{panel['dataset']}.epsilons or evaluation.epsilons); add it there")  # fmt: skip


def require_test_ranges(where: str, needed: set, thetas: set) -> None:
    """The test rotation ranges a panel reads (``needed``) must be in ``evaluation.rotation_thetas``."""
    if needed - thetas:
        raise ConfigError(f"{where}: test rotation ranges {sorted(needed - thetas)} are not in "
                          f"evaluation.rotation_thetas; add them there")  # fmt: skip
