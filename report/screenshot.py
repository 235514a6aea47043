"""The README's picture of the report (report/screenshot.png), made from the kept paper-scale reference
results, never by hand:

    .venv/bin/python report/screenshot.py [--result figures/fig19.png] [--out report/screenshot.png]

In a private copy of the workflow: the reference's evaluation files, its figures and scoreboard drawn
from them (python -m invrob.reference draw), `snakemake --report` for those targets, then the page in
headless Chromium showing one figure with its caption (invrob.browser).  Takes about a minute.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from invrob.browser import report_views  # noqa: E402
from invrob.paths import copy_workflow  # noqa: E402

REFERENCE = ROOT / "reference" / "paper-fashion_mnist"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--result", default="figures/fig19.png", help="the result shown (a report path)")
    parser.add_argument("--out", default=str(ROOT / "report" / "screenshot.png"))
    args = parser.parse_args(argv)
    manifest = json.loads((REFERENCE / "manifest.json").read_text())
    with tempfile.TemporaryDirectory(prefix="invrob-report-") as tmp:
        work = copy_workflow(tmp)
        shutil.copytree(REFERENCE / "results", work / "results")
        def run(*command):
            proc = subprocess.run([sys.executable, "-m", *command], cwd=work, capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"{' '.join(command)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")

        run("invrob.reference", "draw", str(REFERENCE), "--out", str(work))
        drawn = [t for t in manifest["targets"] if (work / t).exists()]
        overlays = [c for c in manifest["configfiles"] if c != "config.yaml"]
        run("snakemake", "--report", "report.html", *(["--configfile", *overlays] if overlays else []), "--", *drawn)
        views = report_views(work / "report.html", args.out, args.result)
    if views["errors"]:
        print("JavaScript errors:", *views["errors"], sep="\n  ", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {args.result} in the report of {', '.join(drawn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
