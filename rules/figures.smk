# One rule per figure kind; paper numbers (fig1, ...) are aliases defined in the config.
# Figures read evaluation files only, so no figure change ever retrains or re-evaluates; the
# plotting module is an input, so editing it reruns the figures (and nothing else).


rule figure_rotation_tradeoff:
    input:
        evals=lambda w: figure_evaluations(config, w.name),
        plotting=PLOTTING_MODULE,
    output:
        pdf="figures/{name}.pdf",
        png="figures/{name}.png",
        csv="figures/{name}.csv",
    wildcard_constraints:
        name="|".join(figures_of_kind(config, "rotation_tradeoff")) or "^$",
    params:
        metric=lambda w: config["figures"][w.name].get("metric", "accuracy"),
        paper_dataset=lambda w: config["figures"][w.name].get("paper_dataset"),
        scale_note=lambda w: scale_note(config, config["figures"][w.name]["dataset"]),
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
        "../scripts/figure_rotation_tradeoff.py"
