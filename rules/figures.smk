# Paper figures and tables by their paper numbers (aliases defined in the config).  They read
# evaluation files only, so no figure or table change ever retrains or re-evaluates; the plan
# (params) says which file is what, and the code fingerprint (params) of the plotting code of the
# figure's kind reruns the figures and tables whose drawing code changed (and nothing else).


rule figure:
    input:
        evals=lambda w: figure_evaluations(config, w.name, "figures"),
    output:
        pdf="figures/{name}.pdf",
        png="figures/{name}.png",
        csv="figures/{name}.csv",
    wildcard_constraints:
        name="|".join(map(re.escape, config["figures"])) or "^$",
    params:
        plan=lambda w: figure_plan(config, w.name, "figures"),
        code=lambda w: job_code("figure", kind=figure_plan(config, w.name, "figures")["kind"]),
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/figures/{name}.log",
    benchmark:
        "benchmarks/figures/{name}.tsv"
    script:
        "../scripts/figure.py"


rule table:
    input:
        evals=lambda w: figure_evaluations(config, w.name, "tables"),
    output:
        csv="tables/{name}.csv",
        md="tables/{name}.md",
        tex="tables/{name}.tex",
    wildcard_constraints:
        name="|".join(map(re.escape, config.get("tables") or {})) or "^$",
    params:
        plan=lambda w: figure_plan(config, w.name, "tables"),
        code=lambda w: job_code("table", kind=figure_plan(config, w.name, "tables")["kind"]),
    threads: res("table", "threads")
    resources:
        mem_mb=res("table", "mem_mb"),
        runtime=res("table", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/tables/{name}.log",
    benchmark:
        "benchmarks/tables/{name}.tsv"
    script:
        "../scripts/table.py"


# Any other file under figures/ or tables/: a short error listing the valid targets, before any job
# runs (instead of Snakemake's "No rule to produce").
rule unknown_target:
    input:
        unknown_target,
    output:
        "{section}/{file}",
    wildcard_constraints:
        section="figures|tables",
        file=not_a_target_pattern(config),
    log:
        "logs/unknown_target/{section}/{file}.log",
    conda:
        "../environment.yml"
    shell:
        "false"
