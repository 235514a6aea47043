"""Paper 001 §3 simulated: the cyclic-code distribution and its Bayes classifiers (``code``), classifiers
trained on it (``simulation``), and the settings the simulation depends on (``settings``, torch-free)."""

from __future__ import annotations

from ..config import ConfigError


def settings(config: dict) -> dict:
    """The settings of paper 001 §3's simulation (``theory:``), checked: m must divide d = 2^k − 1."""
    settings = config.get("theory")
    if not settings:
        raise ConfigError("a theorem2 figure needs the `theory:` settings (see config.yaml)")
    d = 2 ** settings["code_degree"] - 1
    if d % settings["shift_unit"]:
        divisors = [m for m in range(1, d) if d % m == 0]
        raise ConfigError(f"theory.shift_unit: {settings['shift_unit']} does not divide the code length {d} "
                          f"(2^{settings['code_degree']} − 1); use one of {divisors}")  # fmt: skip
    return dict(settings)
