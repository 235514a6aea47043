# Invariance vs. adversarial robustness: the papers' figures and tables from scratch.
#   snakemake all --cores 2 --configfile config/quick.yaml      # whole pipeline, CPU, offline
#   snakemake figures/fig1.pdf --cores 4 --resources gpu=4      # one paper figure on 4 GPUs
# Targets go first (or after `--`): `--configfile` and `--resources` take several values.
# See README.md.  Rules hold wiring only; the logic is in the `invrob` package.

import os
import sys

from snakemake.utils import min_version

min_version("9.0")

# this workflow's own package (not another checkout's installed copy): the rules' params,
# including the code fingerprints, are computed from the code the jobs will run
sys.path.insert(0, workflow.basedir)

from invrob import jobserver
from invrob.commands import record_invocation
from invrob.config import check_results_scale, record_scale, validate_config
from invrob.guards import check_plan, check_result_files, concurrent_run_note


# the paper config next to this Snakefile, so that `-d elsewhere` runs work too; overlays via --configfile
configfile: os.path.join(workflow.basedir, "config.yaml")


# error messages, here and in the jobs, suggest commands with this run's folder, --configfile and --config
record_invocation(workflow.overwrite_configfiles, os.getcwd(), workflow.main_snakefile,
                  workflow.config_settings.config_args)
validate_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))


if workflow.is_main_process:
    # a run at another scale would replace this folder's results; a broken or swapped checkpoint or
    # split would cost the results made from it: refused before any job (see invrob.guards)
    check_results_scale(config, sys.argv)
    check_result_files()
    if note := concurrent_run_note():
        print(note, file=sys.stderr)


onstart:
    # the DAG is known and no job has run: a dataset is never prepared again under finished results
    check_plan(workflow.dag)
    record_scale(config)
    # a local run forks its jobs from one process that imported torch once (invrob.jobserver); not
    # on a cluster, nor with --sdm conda/apptainer, whose jobs must run in their own environment
    if config["job_start"] == "fork" and workflow.local_exec and not workflow.deployment_settings.deployment_method:
        jobserver.start(workflow.basedir)


onsuccess:
    jobserver.stop_started()


onerror:
    jobserver.stop_started()


include: "rules/common.smk"


# `snakemake --report report.html`: this front page (the claims scoreboard, how the run was made), then
# every figure and table built, by paper and number, with captions (invrob.report)
report: "report/workflow.rst"


wildcard_constraints:
    dataset=r"[a-z0-9_]+",
    arch=r"[a-z0-9_]+",
    recipe=r"[A-Za-z0-9_.\-]+",
    seed=r"\d+",
    evaluation=r"[a-z0-9\-]+",


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"
include: "rules/theory.smk"


# cheap jobs run where snakemake runs, also under --profile profiles/slurm: the download needs the
# internet (compute nodes often have none), figures and tables take seconds
localrules:
    all,
    prepare_dataset,
    figure,
    table,
    claims,
    theory,
    unknown_target,


rule all:
    default_target: True
    input:
        all_targets(config),
