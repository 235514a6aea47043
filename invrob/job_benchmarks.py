"""Snakemake's per-job ``benchmark:`` files (``benchmarks/<rule>/<wildcards>.tsv``) read back: where a
run's time went, per rule, per evaluation and per job.

Each file holds one row: ``s`` (the job's wall seconds, its process start-up included), ``cpu_time``
(user + system seconds), ``max_rss`` (MB) and more.  The path below ``benchmarks/<rule>/`` is the
job's id (``paths.RUN_ID`` or ``paths.EVALUATION_ID``), so an evaluation job's last path part is the
evaluation's name.  ``<rule>`` is the rule's name, except for the drawing rules, which record under
their outputs' folders: ``figures/`` (rule figure) and ``tables/`` (rules table and claims).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from .paths import JOB_BENCHMARKS


def read_job_benchmarks(run: str | Path) -> list[dict]:
    """One record per job of ``run``: rule, job id, wall seconds, CPU seconds and peak RSS (MB)."""
    root = Path(run) / JOB_BENCHMARKS
    records = []
    for tsv in sorted(root.rglob("*.tsv")):
        with tsv.open() as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if not rows:  # a job killed before Snakemake wrote its row
            continue
        rel = tsv.relative_to(root).with_suffix("")
        row = rows[0]
        records.append({"rule": rel.parts[0], "job": "/".join(rel.parts[1:]), "s": float(row["s"]),
                        "cpu_s": _number(row.get("cpu_time")), "max_rss_mb": _number(row.get("max_rss"))})  # fmt: skip
    return records


def _number(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):  # "NA" when the job ended too fast to be sampled
        return None


def rule_seconds(run: str | Path) -> dict[str, dict]:
    """{rule: {jobs, seconds}} summed over a run's jobs (wall seconds per job, not the run's wall time)."""
    by_rule = _group(read_job_benchmarks(run), _rule)
    return {rule: {"jobs": v["jobs"], "seconds": v["seconds"]} for rule, v in sorted(by_rule.items())}


def _rule(record: dict) -> str:
    return record["rule"]


def _evaluation(record: dict) -> str | None:
    """An evaluation job's evaluation name (the last part of its id), else None."""
    return record["job"].rsplit("/", 1)[-1] if record["rule"].startswith("evaluate") else None


def _group(records: list[dict], key) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0, "cpu_seconds": 0.0, "max_s": 0.0})
    for r in records:
        k = key(r)
        if k is None:
            continue
        g = out[k]
        g["jobs"] += 1
        g["seconds"] += r["s"]
        g["cpu_seconds"] += r["cpu_s"] or 0.0
        g["max_s"] = max(g["max_s"], r["s"])
    return {k: {"jobs": g["jobs"], "seconds": round(g["seconds"], 1), "mean_s": round(g["seconds"] / g["jobs"], 2),
                "max_s": round(g["max_s"], 1), "cpu_seconds": round(g["cpu_seconds"], 1)}
            for k, g in sorted(out.items(), key=lambda kv: -kv[1]["seconds"])}  # fmt: skip


def summarise(records: list[dict], slowest: int = 10, startup_s: dict[str, float] | None = None) -> dict:
    """Per rule and per evaluation (sorted by summed seconds), the ``slowest`` jobs, and with
    ``startup_s`` ({rule: seconds a job of it spends starting its process}) the start-up's share."""
    total = sum(r["s"] for r in records)
    out = {"jobs": len(records), "job_seconds": round(total, 1), "rules": _group(records, _rule),
           "evaluations": _group(records, _evaluation),
           "slowest_jobs": [{"rule": r["rule"], "job": r["job"], "s": round(r["s"], 1)}
                            for r in sorted(records, key=lambda r: -r["s"])[:slowest]]}  # fmt: skip
    if startup_s is not None:
        spent = sum(startup_s.get(r["rule"], startup_s.get("*", 0.0)) for r in records)
        out["startup"] = {"per_job_s": startup_s, "job_seconds": round(spent, 1),
                          "share": round(spent / total, 3) if total else 0.0}  # fmt: skip
    return out
