# Helpers shared by the rules: the package's view of the config (invrob.pipeline) and the file layout
# (invrob.paths: every input, output, log and benchmark pattern of the rules).
import re  # noqa: F401  (used by the wildcard constraints of rules/figures.smk)

from invrob import paths
from invrob import report as results_report
from invrob.checks import check_config
from invrob.evaluation.settings import evaluation_settings
from invrob.external import import_inputs as external_import_inputs
from invrob.external import import_params as external_import_params
from invrob.pipeline import (
    PRIORITY_CHAIN,
    all_targets,
    checkpoint_input,
    claim_plans,
    claims_evaluations,
    claims_input,
    config_claims,
    figure_evaluations,
    figure_plan,
    front_page,
    gpu_jobs_expected,
    job_code,
    not_a_target_pattern,
    report_caption,
    robust_dataset_input,
    robust_dataset_params,
    snapshot_epochs,
    snapshot_list,
    target_names,
    train_params,
    train_priority,
    unknown_target_message,
    warm_start_input,
)
from invrob.theory import settings as theory_settings

check_config(config)
CLAIMS = config_claims(config)  # the papers' claims (config/claims.yaml), checked against the targets

# GPU jobs keep their data on the GPU and need ~1 CPU thread; on the CPU they use `threads`
GPU_JOBS = gpu_jobs_expected(config)


def resource(rule_name, key):
    """A resource of `rule_name` from the config's `resources:` section (its defaults: config/schema.yaml)."""
    return config["resources"][rule_name][key]


def gpu_job_threads(rule_name):
    """CPU threads of a training/evaluation job: `gpu_threads` on a GPU, else `threads`."""
    return resource(rule_name, "gpu_threads" if GPU_JOBS else "threads")


def code_of(rule_name, **keys):
    """Param `code`: the fingerprint of the package code the job runs (see invrob.fingerprint).
    Editing that code's behaviour reruns the job; comments, docstrings and formatting do not."""
    return lambda w: job_code(rule_name, **{k: getattr(w, v) for k, v in keys.items()})


def unknown_target(wildcards):
    """The input of unknown_target (any non-target under figures/ or tables/): an error listing the targets."""
    raise ValueError(unknown_target_message(config, f"{wildcards.section}/{wildcards.file}"))


def result_report(path):
    """A figure's or table's output in `snakemake --report`: by paper (category) and figure or table
    number (subcategory); its caption (report/result.rst) is the job's `caption` param (invrob.report)."""
    return report(path, caption="../report/result.rst",
                  category=lambda w: results_report.category(w.name),
                  subcategory=lambda w: results_report.subcategory(w.name),
                  labels=lambda w: results_report.labels(w.name, path))


def scoreboard_report(path):
    """The claims scoreboard's outputs in the report (the front page shows it too: report/workflow.rst)."""
    return report(path, caption="../report/claims.rst", category=results_report.SCOREBOARD_CATEGORY,
                  subcategory="all claims", labels=results_report.labels("claims", path))


def log_of(rule_name, pattern):
    """The log file of a job of `rule_name` (pattern: the job's wildcards as a path, e.g. paths.RUN_ID)."""
    return paths.job_log(rule_name, pattern)


def benchmark_of(rule_name, pattern):
    """The `benchmark:` file of a job of `rule_name` (Snakemake's record of its wall time and memory)."""
    return paths.job_benchmark(rule_name, pattern)
