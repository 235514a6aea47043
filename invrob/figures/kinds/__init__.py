"""Figure and table kinds: one module per kind, named as the kind (``kind:`` in a config entry).

A kind module holds everything about its kind:

- ``SECTION``: ``"figures"`` or ``"tables"`` (the config section its entries go under);
- ``DOC``: one line on what it shows (the report's caption starts with it);
- ``models(config, panel, where) -> list[dict]``: the models a panel needs, each made with
  ``invrob.figures.plan.model_entry`` and carrying a ``group``: what the model stands for in the
  drawing (a training θ, an ε, ``[arch, θ]``, a row number…; the kind's docstrings say which);
- ``check(config, where, panel, thetas, epsilons)`` (optional): what the JSON schema cannot check
  of a panel, e.g. that its ε is on the robustness grid; raises ``ConfigError``;
- ``draw(plan, evals) -> (figure, rows)`` for figures, or ``table(plan, evals) -> (header, rows,
  caption)`` for tables: from the resolved plan and the evaluation files ({path: contents});
- ``CHECKPOINTS = False`` (optional) for a kind that reads no checkpoint (a simulation).

Modules are imported at DAG time (``models``, ``check``), so their top level imports no torch and
no matplotlib (``invrob.figures.style.subplots`` imports it when a figure is drawn).  Modules whose
name starts with ``_`` are helpers shared by several kinds.  Adding a kind is adding its module and
a config entry that uses it.
"""

from __future__ import annotations

from types import ModuleType

from ... import catalog


def names() -> list[str]:
    """Every kind, sorted."""
    return sorted(catalog.names(catalog.FIGURE_KINDS))


def get(kind: str) -> ModuleType:
    """The module of ``kind`` (a short error naming the known kinds otherwise)."""
    return catalog.load(catalog.FIGURE_KINDS, kind)
