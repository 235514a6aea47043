# Rule claims: the claims scoreboard from the evaluation files that exist (see invrob.claims).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/

from invrob.jobs import claims_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
claims_job(sm.params.plans, sm.params.claims, sm.params.scale, sm.output.csv, sm.output.md, sm.output.html, sm.log[0])
