# Paper figures and tables by their paper numbers (aliases defined in the config).  They read
# evaluation files only, so no figure or table change ever retrains or re-evaluates; the plan
# (params) says which file is what, and the code fingerprint (params) of the figure kind's module
# (invrob/figures/kinds/) and the drawing code it uses reruns the figures and tables whose drawing code changed (and nothing else).


rule figure:
    input:
        evals=lambda w: figure_evaluations(config, w.name, "figures"),
    output:
        pdf=paths.FIGURE.format(name="{name}", ext="pdf"),
        png=result_report(paths.FIGURE.format(name="{name}", ext="png")),
        csv=result_report(paths.FIGURE.format(name="{name}", ext="csv")),
    wildcard_constraints:
        name="|".join(map(re.escape, target_names(config, "figures"))) or "^$",
    params:
        plan=lambda w: figure_plan(config, w.name, "figures"),
        code=lambda w: job_code("figure", kind=figure_plan(config, w.name, "figures")["kind"]),
        caption=lambda w: report_caption(config, "figures", w.name, CLAIMS),
    threads: resource("figure", "threads")
    resources:
        mem_mb=resource("figure", "mem_mb"),
        runtime=resource("figure", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("figures", "{name}"),
    benchmark:
        benchmark_of("figures", "{name}")
    script:
        "../scripts/figure.py"


rule table:
    input:
        evals=lambda w: figure_evaluations(config, w.name, "tables"),
    output:
        csv=result_report(paths.TABLE.format(name="{name}", ext="csv")),
        md=paths.TABLE.format(name="{name}", ext="md"),
        tex=result_report(paths.TABLE.format(name="{name}", ext="tex")),
        html=result_report(paths.TABLE.format(name="{name}", ext="html")),
    wildcard_constraints:
        name="|".join(map(re.escape, target_names(config, "tables"))) or "^$",
    params:
        plan=lambda w: figure_plan(config, w.name, "tables"),
        code=lambda w: job_code("table", kind=figure_plan(config, w.name, "tables")["kind"]),
        caption=lambda w: report_caption(config, "tables", w.name, CLAIMS),
    threads: resource("table", "threads")
    resources:
        mem_mb=resource("table", "mem_mb"),
        runtime=resource("table", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("tables", "{name}"),
    benchmark:
        benchmark_of("tables", "{name}")
    script:
        "../scripts/table.py"


# The claims scoreboard: every claim of config/claims.yaml judged on the evaluations that exist in this
# folder or that this run builds (under `all`: all of them); a claim whose files are missing says
# 'not built'.  When more evaluations exist, the set of inputs changes and the next request reruns it.
# With `claims: null` in the config there is no scoreboard (`all` leaves it out; asking for it says so).
rule claims:
    input:
        claims=lambda w: claims_input(config),
        evals=lambda w: claims_evaluations(config, CLAIMS, workflow.dag_settings.targets),
    output:
        csv=scoreboard_report(paths.TABLE.format(name="claims", ext="csv")),
        md=paths.TABLE.format(name="claims", ext="md"),
        html=scoreboard_report(paths.TABLE.format(name="claims", ext="html")),
    params:
        claims=CLAIMS,
        plans=lambda w: claim_plans(config, CLAIMS),
        scale=config["scale"],
        code=lambda w: job_code("claims"),
        front_page=lambda w, input: front_page(config, workflow, input.evals),
    threads: resource("table", "threads")
    resources:
        mem_mb=resource("table", "mem_mb"),
        runtime=resource("table", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("tables", "claims"),
    benchmark:
        benchmark_of("tables", "claims")
    script:
        "../scripts/claims.py"


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
        log_of("unknown_target", "{section}/{file}"),
    conda:
        "../environment.yml"
    shell:
        "false"
