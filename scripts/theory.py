# Rule theory: paper 001 §3 simulated (see invrob.theory).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import theory_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
theory_job(sm.params.settings, sm.output.json, sm.threads, sm.log[0])
