# Paper figures and tables by their paper numbers (aliases defined in the config).  They read
# evaluation files only, so no figure or table change ever retrains or re-evaluates; the plan
# (params) says which file is what, and the plotting module is an input, so editing it reruns
# the figures and tables (and nothing else).


rule figure:
    input:
        evals=lambda w: figure_evaluations(config, w.name, "figures"),
        plotting=PLOTTING_MODULE,
    output:
        pdf="figures/{name}.pdf",
        png="figures/{name}.png",
        csv="figures/{name}.csv",
    wildcard_constraints:
        name="|".join(map(re.escape, config["figures"])) or "^$",
    params:
        plan=lambda w: figure_plan(config, w.name, "figures"),
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
        plotting=PLOTTING_MODULE,
    output:
        csv="tables/{name}.csv",
        md="tables/{name}.md",
        tex="tables/{name}.tex",
    wildcard_constraints:
        name="|".join(map(re.escape, config.get("tables") or {})) or "^$",
    params:
        plan=lambda w: figure_plan(config, w.name, "tables"),
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
