"""Paper 001 Figs 1, 7-8: robustness and invariance of the Aug-R, Aug-T or Aug-RT sweep (``transform``)."""

from __future__ import annotations

from ..plan import require, spatial_sweep
from ._tradeoff import draw_tradeoff as draw  # noqa: F401  (the kind's drawing)
from ._tradeoff import tradeoff_evaluations

SECTION = "figures"
DOC = "robustness | invariance profile of the Aug-R, Aug-T or Aug-RT sweep (`transform`; paper 001)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per training range of the ``transform`` family's sweep (group: θ or i)."""
    require(panel, "attack", where)
    return spatial_sweep(config, panel, tradeoff_evaluations("spatial_tradeoff", panel), where)
