"""Paper 000 Figs 1-4, 26-29: robustness and rotation invariance of the rotation-augmentation sweep."""

from __future__ import annotations

from ..plan import require, spatial_sweep
from ._tradeoff import draw_tradeoff as draw  # noqa: F401  (the kind's drawing)
from ._tradeoff import tradeoff_evaluations

SECTION = "figures"
DOC = "robustness profile | rotation-invariance profile of the rotation sweep (paper 000 §2.1)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per training range θ of ``sweeps.rotation`` (group: θ)."""
    require(panel, "attack", where)
    return spatial_sweep(config, panel, tradeoff_evaluations("rotation_tradeoff", panel), where)
