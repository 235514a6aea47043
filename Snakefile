# Invariance vs. adversarial robustness: the papers' figures and tables from scratch.
#   snakemake --cores 2 --configfile config/quick.yaml all     # whole pipeline, CPU, offline
#   snakemake --cores 4 --resources gpu=4 figures/fig1.pdf      # one paper figure on 4 GPUs
# See README.md.  Rules hold wiring only; the logic is in the `invrob` package.

import os

from snakemake.utils import min_version, validate

min_version("9.0")


# the paper config next to this Snakefile, so that `-d elsewhere` runs work too; overlays via --configfile
configfile: os.path.join(workflow.basedir, "config.yaml")


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(config),
