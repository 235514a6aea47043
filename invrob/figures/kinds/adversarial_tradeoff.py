"""Paper 000 Figs 5-6, 30-31 and paper 001 Figs 2-4: invariance of the PGD- or TRADES-training sweep."""

from __future__ import annotations

from ..plan import adversarial_sweep, panel_setting, require
from ._tradeoff import draw_tradeoff as draw  # noqa: F401  (the kind's drawing)
from ._tradeoff import tradeoff_evaluations

SECTION = "figures"
DOC = (
    "robustness profile | invariance profiles (`invariance`) of the PGD- or TRADES-training sweep "
    "(`method`; paper 000 §2.2, paper 001 Figs 2-4)"
)


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per training radius ε of ``datasets.*.adversarial_epsilons`` (group: ε), by ``method``."""
    require(panel, "attack", where)
    evaluations = tradeoff_evaluations("adversarial_tradeoff", panel)
    method = panel_setting(panel, "method")
    return adversarial_sweep(config, panel["dataset"], panel["arch"], evaluations, where, method)
