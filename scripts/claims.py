# Rule claims: the claims scoreboard from the evaluation files that exist (see invrob.claims).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import claims_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
claims_job(sm.params.plans, sm.params.claims, sm.params.scale, sm.output.csv, sm.output.md, sm.output.html, sm.log[0])
