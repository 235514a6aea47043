# Rule theory: paper 001 §3 simulated (see invrob.theory).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/

from invrob.jobs import theory_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
theory_job(sm.params.settings, sm.output.json, sm.threads, sm.log[0])
