"""The claims scoreboard (``tables/claims.{md,csv}``): the papers' quantitative statements, kept as
data in ``config/claims.yaml``, each checked against this folder's evaluation files.

A claim names the paper, where it says it, a verbatim quote, and what to measure with *selectors*
into the figures and tables of the config (``target``, ``panel``, ``model``, ``evaluation``, ``x``,
``y``; see ``config/claims.yaml``'s header).  A selector reads the same evaluation files the
target reads, so a claim about Fig 1 is judged on exactly the numbers Fig 1 plots (in its ε space).

Types and verdicts:

* ``level``: one number against the paper's (``>``, ``<`` or ``≈`` within ``tolerance``).  Judged only
  at paper scale where the panel's dataset and model are the paper's: at a reduced scale, under a
  stand-in, or where the claim says ``stand_in:`` (the paper's model is unknown), ``not judged``.
* ``trend``: the values over the models of a panel in the plan's order (training θ, ε, α, …) rise or
  fall: Spearman's ρ between position and value at least ``min_rho`` (default 0.5) in the claimed
  direction, and the last model beyond the first.  Judged at any scale.
* ``compare``: value ``a`` above (or below) value ``b`` by more than ``margin`` (default 0).  Judged at
  any scale, unless the claim says ``judged_at: paper`` (a band around the paper's own numbers).
  Paper 001's simulated theory (figures of kind theorem2) is the same at every scale: its levels are
  judged at every scale.

``not built``: an evaluation file a claim needs does not exist (yet) in this folder; ``not measured``:
this config does not measure it (a panel, model, evaluation or grid point absent at this scale).
The table is built from whatever evaluations exist, plus the ones this run builds (``scoreboard.claim_inputs``).

Modules: ``load`` (the claims file, checked against the plans: DAG time), ``read`` (a selector → the
numbers it names), ``scoreboard`` (verdicts, the rule's inputs and its CSV / Markdown / HTML).
"""

from __future__ import annotations

CLAIM_TYPES = ("level", "trend", "compare")
OPERATORS = (">", "<", "≈")
# evaluation roles a selector may name; `robustness[-rotated]` is the panel's attack, in its ε space
ROLE_X_KEYS = ("epsilon", "theta", "range")
CUSP_VALUES = ("adv", "std", "spatial", "pareto")
RESULT_KEYS = ("accuracy", "one_minus_fooling_rate", "invariance", "mean_l2", "median_l2", "angles_deg",
               "attack_success_rate", "clean_accuracy",
               # paper 001 §3 simulated (evaluation theorem2, invrob.theory)
               "bayes_accuracy", "bayes_transformed_accuracy", "bayes_cross_accuracy", "code_relative_distance",
               "theorem2_slack")  # fmt: skip
REDUCE = {"min": min, "max": max, "mean": lambda v: sum(v) / len(v)}
OVER_SNAPSHOTS = {**REDUCE, "last": lambda v: v[-1]}
VERDICTS = ("holds", "fails", "not judged", "not measured", "not built")
CSV_HEADER = ["id", "paper", "where", "type", "quote", "quantity", "paper_value", "tolerance", "ours", "verdict",
              "detail", "ours_autoattack", "verdict_autoattack", "scale"]  # fmt: skip


class ClaimError(ValueError):
    pass


class NotBuilt(Exception):
    """An evaluation file a claim needs does not exist in this folder (yet)."""


class NotMeasured(Exception):
    """This config does not measure what a claim needs (a panel, model, evaluation or grid point)."""
