rule evaluate:
    input:
        # checked before any job runs: a truncated or swapped checkpoint stops the run, and no
        # finished evaluation of it is deleted (invrob.guards.check_result_files); an equivalent recipe's
        # model is read, trained once (pgd0 reads rot0's: invrob.pipeline.checkpoint_input)
        model=lambda w: checkpoint_input(w.dataset, w.arch, w.recipe, w.seed),
        test=ancient(paths.split_file("{dataset}", "test")),
    output:
        json=paths.EVALUATION,
    params:
        settings=lambda w: evaluation_settings(config, w.dataset, w.evaluation),
        code=code_of("evaluate", evaluation="evaluation", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("evaluate")
    resources:
        gpu=1,
        mem_mb=resource("evaluate", "mem_mb"),
        runtime=resource("evaluate", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("evaluate", paths.EVALUATION_ID),
    benchmark:
        benchmark_of("evaluate", paths.EVALUATION_ID)
    script:
        "../scripts/evaluate.py"


# Paper 003: one evaluation of every training snapshot, as one file.
use rule evaluate as evaluate_snapshots with:
    input:
        snapshots=paths.SNAPSHOTS,
        test=ancient(paths.split_file("{dataset}", "test")),
    output:
        json=paths.SNAPSHOT_EVALUATION,
    params:
        settings=lambda w: evaluation_settings(config, w.dataset, w.evaluation),
        code=code_of("evaluate_snapshots", evaluation="evaluation", arch="arch", dataset="dataset"),
        # the snapshots the folder must hold: a folder with fewer is an error, never a shorter curve
        epochs=lambda w: snapshot_list(config, w.dataset, w.arch, w.recipe),
    log:
        log_of("evaluate_snapshots", paths.EVALUATION_ID),
    benchmark:
        benchmark_of("evaluate_snapshots", paths.EVALUATION_ID)
