"""Benchmark of a whole pipeline run: wall time, job count, and where the time went.

    python bench/pipeline.py                                   # `all` at quick scale, 2 cores, fresh folder
    python bench/pipeline.py --configfile config/tiny.yaml --target all --cores 2
    python bench/pipeline.py --run DIR [--wall-seconds S]      # summarise a run made elsewhere, run nothing

Runs the target in a fresh copy of the workflow (the dataset prepared from scratch too; `--workdir`
keeps the folder), then reads Snakemake's per-job ``benchmark:`` files: seconds per rule and per
evaluation (summed over jobs: with 2 cores the sum is about twice the wall time), the slowest jobs,
and the share of the job seconds spent starting processes, measured here on this machine: with
``--job-start fresh`` each job is a fresh Python process and pays its imports (torch for the training
and attack jobs, matplotlib for the drawing ones); with ``fork`` (the default, as a local run) it is
forked from the run's job server (invrob.jobserver) and pays the script's start and the fork only.
Writes ``bench/pipeline-{config}-{device}.json`` (a record to compare later changes against, not a
timed test) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from invrob import jobserver  # noqa: E402
from invrob.job_benchmarks import read_job_benchmarks, summarise  # noqa: E402
from invrob.paths import copy_workflow  # noqa: E402
from invrob.reference import _commit, machine  # noqa: E402

# What a job's process imports before it computes anything (scripts/*.py → invrob.jobs → …)
STARTUP_IMPORTS = {
    "torch": "import snakemake.script, invrob.jobs, invrob.evaluation.registry, invrob.training.loop",
    "drawing": "import snakemake.script, invrob.jobs, invrob.figures.render, invrob.claims.scoreboard",
}
DRAWING_RULES = ("figures", "tables")  # the benchmarks/ folders of rules figure, table and claims


def _best_wall_seconds(code: str, repeats: int) -> float:
    """Best-of-``repeats`` wall seconds of ``python -c code`` run from the repository."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return round(min(times), 2)


def startup_seconds(repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` wall seconds of a fresh process doing a job's imports, per kind of job."""
    return {kind: _best_wall_seconds(imports, repeats) for kind, imports in STARTUP_IMPORTS.items()}


def forked_startup_seconds(repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` wall seconds of a job script whose function is forked from a job server."""
    script = "import snakemake.script, invrob.jobs; from invrob.jobserver import call; call(exec, 'pass')"
    server = jobserver.start(REPO)
    if server is None:
        raise SystemExit("the job server did not start: see its message above")
    try:
        seconds = _best_wall_seconds(script, repeats)
    finally:
        server.stop()
    return dict.fromkeys(STARTUP_IMPORTS, seconds)


def per_rule_startup(records: list[dict], startup: dict[str, float]) -> dict[str, float]:
    rules = {r["rule"] for r in records}
    return {rule: startup["drawing" if rule in DRAWING_RULES else "torch"] for rule in sorted(rules)}


def run_target(workdir: Path, configfiles: list[str], target: str, cores: int, job_start: str) -> float:
    copy_workflow(workdir)
    cmd = [sys.executable, "-m", "snakemake", target, "--cores", str(cores), "--configfile", *configfiles,
           "--config", f"job_start={job_start}", "--quiet"]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return time.perf_counter() - t0


def print_summary(result: dict) -> None:
    s = result["summary"]
    wall = result.get("wall_s")
    print(f"{result['target']} with {' '.join(result['configfiles'])} on {result['cores']} cores, "
          f"jobs started by {result['job_start']}: "
          f"{'%.0f s wall, ' % wall if wall else ''}{s['jobs']} jobs, {s['job_seconds']:.0f} job seconds")  # fmt: skip
    if "startup" in s:
        print(f"process start-up (imports): {s['startup']['per_job_s']} s per job → "
              f"{s['startup']['job_seconds']:.0f} job seconds = {100 * s['startup']['share']:.1f} %")  # fmt: skip
    for title, groups in (("rule", s["rules"]), ("evaluation", s["evaluations"])):
        print(f"\n| {title} | jobs | seconds | mean s | max s |\n| --- | --- | --- | --- | --- |")
        for name, g in groups.items():
            print(f"| {name} | {g['jobs']} | {g['seconds']:.0f} | {g['mean_s']:.1f} | {g['max_s']:.0f} |")
    print("\nslowest jobs:")
    for j in s["slowest_jobs"]:
        print(f"  {j['s']:7.0f} s  {j['rule']}  {j['job']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configfile", nargs="+", default=["config/quick.yaml"])
    ap.add_argument("--target", default="all")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--job-start", choices=["fork", "fresh"], default="fork",
                    help="config job_start: jobs forked from the job server (default) or fresh processes")
    ap.add_argument("--workdir", help="run in this (new or empty) folder and keep it (default: a temporary one)")
    ap.add_argument("--run", help="summarise this existing run folder instead of running (say its --job-start)")
    ap.add_argument("--wall-seconds", type=float, help="with --run: the run's wall time, if known")
    ap.add_argument("--slowest", type=int, default=10)
    ap.add_argument("--out", help="default: bench/pipeline-{last config's name}-cpu.json")
    args = ap.parse_args(argv)

    result = {"target": args.target, "configfiles": args.configfile, "cores": args.cores, "job_start": args.job_start,
              "commit": _commit(REPO), "machine": machine()}  # fmt: skip
    if args.run:
        result["wall_s"] = args.wall_seconds
        records = read_job_benchmarks(args.run)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(args.workdir or tmp)
            if run_dir.exists() and any(run_dir.iterdir()):
                raise SystemExit(f"--workdir {run_dir} is not empty: give a new folder, so that nothing is reused")
            result["wall_s"] = round(run_target(run_dir, args.configfile, args.target, args.cores, args.job_start), 1)
            records = read_job_benchmarks(run_dir)
    if not records:
        raise SystemExit(f"{args.run}/benchmarks has no job benchmark files: is it a folder Snakemake ran in?")
    startup = forked_startup_seconds() if args.job_start == "fork" else startup_seconds()
    result["summary"] = summarise(records, args.slowest, per_rule_startup(records, startup))
    device = "cuda" if result["machine"]["gpu"] else "cpu"
    out = Path(args.out or REPO / "bench" / f"pipeline-{Path(args.configfile[-1]).stem}-{device}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print_summary(result)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
