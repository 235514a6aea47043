rule evaluate:
    input:
        # checked before any job runs: a truncated or swapped checkpoint stops the run, and no
        # finished evaluation of it is deleted (invrob.guards.check_result_files)
        model="results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt",
        test=ancient("data/{dataset}/test.pt"),
    output:
        json="results/{dataset}/{arch}/{recipe}/seed{seed}/eval/{evaluation}.json",
    params:
        settings=lambda w: evaluation_settings(config, w.dataset, w.evaluation),
        code=code_of("evaluate", evaluation="evaluation", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("evaluate")
    resources:
        gpu=1,
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/evaluate/{dataset}/{arch}/{recipe}/seed{seed}/{evaluation}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{arch}/{recipe}/seed{seed}/{evaluation}.tsv"
    script:
        "../scripts/evaluate.py"


# Paper 003: one evaluation of every training snapshot, as one file.
rule evaluate_snapshots:
    input:
        snapshots="results/{dataset}/{arch}/{recipe}/seed{seed}/snapshots/models",
        test=ancient("data/{dataset}/test.pt"),
    output:
        json="results/{dataset}/{arch}/{recipe}/seed{seed}/snapshots/eval/{evaluation}.json",
    params:
        settings=lambda w: evaluation_settings(config, w.dataset, w.evaluation),
        code=code_of("evaluate_snapshots", evaluation="evaluation", arch="arch", dataset="dataset"),
        # the snapshots the folder must hold: a folder with fewer is an error, never a shorter curve
        epochs=lambda w: snapshot_list(config, w.dataset, w.arch, w.recipe),
    threads: gpu_job_threads("evaluate")
    resources:
        gpu=1,
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/evaluate_snapshots/{dataset}/{arch}/{recipe}/seed{seed}/{evaluation}.log",
    benchmark:
        "benchmarks/evaluate_snapshots/{dataset}/{arch}/{recipe}/seed{seed}/{evaluation}.tsv"
    script:
        "../scripts/evaluate_snapshots.py"
