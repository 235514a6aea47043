"""Reference results: a run's evaluation files kept in the repository, with how they were made, so that
its figures and claims can be drawn again without training, and a rerun can be compared with them.

    python -m invrob.reference files --configfile C… --targets T… [--arch A] [--recipes R…]   # one part's targets
    python -m invrob.reference save  REF --run DIR --configfile C… --targets T… [--part NAME]
    python -m invrob.reference draw  REF [--out DIR]         # figures + claims scoreboard from REF alone
    python -m invrob.reference compare REF [--run DIR]       # this folder's results against REF

``REF/manifest.json`` lists the config overlays, the targets, every kept file with its SHA-256, and one
entry per part of the run (parts are runs of different models, e.g. one session's StdCNNs and the
next one's GCNNs): commit, machine, device, wall time, jobs and the per-rule seconds of Snakemake's
``benchmark:`` files.  The evaluation files keep their paths (``REF/results/…``), so a target's plan
reads them as it reads a run's.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import os
import platform
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from . import paths
from .config import load_config
from .figures.plan import plan_files
from .io import atomic_write_json, read_json
from .job_benchmarks import rule_seconds
from .paths import WORKFLOW_ROOT
from .pipeline import (
    CLAIMS_TARGETS,
    FIGURE_FORMATS,
    TABLE_FORMATS,
    claim_plans,
    config_claims,
    figure_plan,
    target_names,
)

MANIFEST = "manifest.json"


def _section(config: dict, target: str) -> tuple[str, str]:
    """(section, name) of a target such as ``figures/fig19.pdf`` or ``tables/claims.md``."""
    section, _, file = target.partition("/")
    name = file.rsplit(".", 1)[0]
    if section not in ("figures", "tables") or (name != "claims" and name not in target_names(config, section)):
        raise SystemExit(f"{target}: not a figure or table of this config")
    return section, name


def target_files(config: dict, targets: list[str], arch: str | None = None, recipes=()) -> list[str]:
    """The evaluation files the targets read (of ``arch``'s models only, and of ``recipes`` only, if
    given; the scoreboard's own are the files of the figures and tables it judges, so it adds none)."""
    files: dict[str, None] = {}
    for target in targets:
        section, name = _section(config, target)
        if name == "claims":
            continue
        for panel in figure_plan(config, name, section)["panels"]:
            for model in panel["models"]:
                if (arch is None or model["arch"] == arch) and (not recipes or model["recipe"] in recipes):
                    for by_ev in model["evals"].values():
                        files.update(dict.fromkeys(by_ev.values()))
    return list(files)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""  # fmt: skip
    import torch

    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}  # fmt: skip


def _commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"



def save(ref: Path, run: Path, configfiles: list[str], targets: list[str], part: str, wall_s: float | None,
         commit: str | None = None) -> dict:  # fmt: skip
    """Copy the targets' evaluation files that ``run`` has into ``ref`` and record this part of the run."""
    config = load_config(configfiles)
    manifest = read_json(ref / MANIFEST) if (ref / MANIFEST).exists() else {
        "configfiles": configfiles, "targets": targets, "files": {}, "parts": []}  # fmt: skip
    if manifest["configfiles"] != configfiles:
        raise SystemExit(f"{ref} was made with --configfile {' '.join(manifest['configfiles'])}, not {' '.join(configfiles)}")
    manifest["targets"] = list(dict.fromkeys(manifest["targets"] + targets))
    copied = []
    for rel in target_files(config, targets):
        src = run / rel
        if src.exists():
            (ref / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, ref / rel)
            manifest["files"][rel] = sha256(ref / rel)
            copied.append(rel)
    manifest["parts"] = [p for p in manifest["parts"] if p["part"] != part] + [{
        "part": part, "commit": commit or _commit(WORKFLOW_ROOT), "machine": machine(), "files": len(copied),
        "wall_seconds": wall_s, "rules": rule_seconds(run)}]  # fmt: skip
    manifest["files"] = dict(sorted(manifest["files"].items()))
    atomic_write_json(manifest, ref / MANIFEST)
    return {"copied": len(copied), "missing": len(target_files(config, targets)) - len(copied)}


@contextmanager
def _inside(folder: Path):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(cwd)


def verify(ref: Path) -> dict:
    """The manifest, after checking that every kept file is there, unchanged."""
    manifest = read_json(ref / MANIFEST)
    for rel, digest in manifest["files"].items():
        if not (ref / rel).exists() or sha256(ref / rel) != digest:
            raise SystemExit(f"{ref / rel} is missing or changed since it was saved (sha256 in {ref / MANIFEST})")
    return manifest


def draw(ref: Path, out: Path) -> list[str]:
    """Every target of ``ref`` whose evaluation files it holds, drawn from them into ``out``, and the
    claims scoreboard judged on them (claims whose files are missing say 'not built')."""
    from .jobs import claims_job, figure_job, table_job

    manifest = verify(ref)
    config = load_config(manifest["configfiles"])
    out = out.resolve()
    written = []
    with _inside(ref):
        for target in manifest["targets"]:
            section, name = _section(config, target)
            if name == "claims":
                claims = config_claims(config)
                claims_job(claim_plans(config, claims), claims, config["scale"],
                           *(str(out / f) for f in CLAIMS_TARGETS))  # fmt: skip
                written.append(paths.TABLE.format(name="claims", ext="md"))
                continue
            plan = figure_plan(config, name, section)
            if not all(Path(f).exists() for f in plan_files(plan)):
                continue  # a later part of the run makes the rest
            pattern, formats, job = ((paths.FIGURE, FIGURE_FORMATS, figure_job) if section == "figures"
                                     else (paths.TABLE, TABLE_FORMATS, table_job))  # fmt: skip
            files = [out / pattern.format(name=name, ext=ext) for ext in formats]  # in the job's argument order
            files[0].parent.mkdir(parents=True, exist_ok=True)
            job(plan, *map(str, files))
            written.append(pattern.format(name=name, ext="png" if section == "figures" else "md"))
    return written


def summary(ref: Path, out: Path, drawn: list[str]) -> str:
    """``README.md`` of a reference: how it was made, its figures, and the claims it judges (after
    ``draw``, which verified the kept files)."""
    manifest = read_json(ref / MANIFEST)
    configs = " ".join(f"--configfile {c}" for c in manifest["configfiles"])
    lines = ["# Reference results", "", "Made by `invrob.reference` (do not edit: `python -m invrob.reference draw "
             f"{ref}` writes this file, the figures and the scoreboard again from the kept evaluation files).", "",
             f"Config: `config.yaml` {configs}; targets: " + ", ".join(f"`{t}`" for t in manifest["targets"]) + ".", "",
             "| part | commit | machine | wall time | evaluation files | seconds per rule (jobs) |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for part in manifest["parts"]:
        m = part["machine"]
        where = f"{m['gpu'] or m['cpu']}, {m['cores']} cores, torch {m['torch']}"
        wall = f"{part['wall_seconds'] / 60:.1f} min" if part.get("wall_seconds") else "—"
        rules = ", ".join(f"{r} {v['seconds']:.0f} s ({v['jobs']})" for r, v in part["rules"].items())
        lines.append(f"| {part['part']} | `{part['commit'][:12]}` | {where} | {wall} | {part['files']} | {rules} |")
    claims = out / "tables/claims.csv"
    if claims.exists():
        rows = [r for r in csv.DictReader(claims.open()) if r["verdict"] in ("holds", "fails", "not judged")]
        counts = {v: sum(r["verdict"] == v for r in rows) for v in dict.fromkeys(r["verdict"] for r in rows)}
        lines += ["", "## Claims judged on these results", "",
                  ", ".join(f"{n} {v}" for v, n in counts.items()) + " (the others need files this reference does not "
                  "keep). The full table: `tables/claims.md`.", "",
                  "| claim | where | the paper says | expected | ours | verdict |", "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for r in rows:
            quote = r["quote"] if len(r["quote"]) <= 160 else r["quote"][:157].rsplit(" ", 1)[0] + " …"
            cells = [f"`{r['id']}`", r["where"], f"“{quote}”", r["paper_value"], r["ours"], f"**{r['verdict']}**"]
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += ["", "## Figures", ""]
    lines += [f"![{png}]({Path(png).as_posix()})" for png in drawn if png.endswith(".png")]
    return "\n".join(lines) + "\n"


def _numbers(results: dict) -> dict[str, list[float]]:
    """The result arrays of an evaluation (accuracy, invariance, distances, …) as flat lists of floats."""
    out = {}
    for key, value in results.items():
        values = value if isinstance(value, list) else [value]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[key] = [float(v) for v in values]
    return out


def compare(ref: Path, run: Path) -> list[dict]:
    """Per kept evaluation file that ``run`` also has: the largest absolute difference of its results."""
    rows = []
    for rel in verify(ref)["files"]:
        if not (run / rel).exists():
            continue
        a, b = _numbers(read_json(ref / rel)["results"]), _numbers(read_json(run / rel)["results"])
        diffs = {k: max((abs(x - y) for x, y in zip(a[k], b[k])), default=0.0) for k in a if k in b and len(a[k]) == len(b[k])}
        largest = max(diffs.values(), default=math.nan)
        key = max(diffs, key=diffs.get) if largest > 0 else ""
        rows.append({"file": rel, "largest_difference": largest, "in": key})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m invrob.reference", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("files", help="the evaluation files of the targets: snakemake targets for one part of a run")
    f.add_argument("--configfile", nargs="*", default=[])
    f.add_argument("--targets", nargs="+", required=True)
    f.add_argument("--arch", default=None, help="only the models of this architecture")
    f.add_argument("--recipes", nargs="*", default=(), help="only the models of these training recipes")
    s = sub.add_parser("save", help="keep a run's evaluation files as reference results")
    s.add_argument("ref", type=Path)
    s.add_argument("--run", type=Path, default=Path("."), help="the folder snakemake ran in")
    s.add_argument("--configfile", nargs="*", default=[], help="the run's overlays, relative to the workflow")
    s.add_argument("--targets", nargs="+", required=True)
    s.add_argument("--part", default="all", help="a name for this part of the run (models run in another part stay)")
    s.add_argument("--wall-seconds", type=float, default=None, help="the run's wall time")
    s.add_argument("--commit", default=None, help="the commit the run ran (default: this checkout's)")
    d = sub.add_parser("draw", help="draw the reference's figures and claims without training")
    d.add_argument("ref", type=Path)
    d.add_argument("--out", type=Path, default=None, help="default: REF itself")
    c = sub.add_parser("compare", help="compare a run's results with the reference")
    c.add_argument("ref", type=Path)
    c.add_argument("--run", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if args.command == "files":
        print("\n".join(target_files(load_config(args.configfile), args.targets, args.arch, args.recipes)))
    elif args.command == "save":
        n = save(args.ref, args.run, args.configfile, args.targets, args.part, args.wall_seconds, args.commit)
        print(f"{args.ref}: kept {n['copied']} evaluation files ({n['missing']} of the targets' not in {args.run})")
    elif args.command == "draw":
        out = args.out or args.ref
        drawn = draw(args.ref, out)
        (out / "README.md").write_text(summary(args.ref, out, drawn))
        for path in [*drawn, "README.md"]:
            print(path)
    else:
        rows = compare(args.ref, args.run)
        for row in rows:
            print(f"{row['largest_difference']:.4f}  {row['in']:<22} {row['file']}")
        print(f"{len(rows)} evaluation files compared with {args.ref}", file=sys.stderr)


if __name__ == "__main__":
    main()
