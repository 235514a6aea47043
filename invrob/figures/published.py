"""The papers' published numbers (``papers/paper_NNN.yaml``), shown beside ours where a figure or table
is computed on the paper's own dataset and model."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from ..units import parse_epsilon

PAPERS_DIR = Path(__file__).resolve().parent / "papers"


@functools.cache
def _read(paper: str) -> dict:
    return yaml.safe_load((PAPERS_DIR / f"{paper}.yaml").read_text())


def by_setup(paper: str, table: str) -> dict[tuple[str, str], dict]:
    """{(dataset, arch): rows} of a table whose keys are ``dataset/arch``."""
    return {tuple(key.split("/")): rows for key, rows in _read(paper)[table].items()}


def by_dataset(paper: str, table: str) -> dict[str, dict]:
    return dict(_read(paper)[table])


def principal_angles() -> dict[tuple[str, str], dict[float, list[float]]]:
    """Paper 000, Tables 1 and 2: {(dataset, arch): {training ε: angles in degrees}}."""
    return {setup: {parse_epsilon(e): angles for e, angles in rows.items()}
            for setup, rows in by_setup("paper_000", "principal_angles").items()}  # fmt: skip
