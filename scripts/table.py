# Rule table: one paper table from its plan (see invrob.figures).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/

from invrob.jobs import table_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
table_job(sm.params.plan, sm.output.csv, sm.output.md, sm.output.tex, sm.output.html, sm.log[0])
