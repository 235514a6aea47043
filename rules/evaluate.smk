rule evaluate:
    input:
        model="results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt",
        test="data/{dataset}/test.pt",
    output:
        json="results/{dataset}/{arch}/{recipe}/seed{seed}/eval/{evaluation}.json",
    params:
        settings=lambda w: evaluation_settings(config, w.dataset, w.evaluation),
        code=code_of("evaluate", evaluation="evaluation", arch="arch", dataset="dataset"),
        device=config["device"],
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
        test="data/{dataset}/test.pt",
    output:
        json="results/{dataset}/{arch}/{recipe}/seed{seed}/snapshots/eval/{evaluation}.json",
    params:
        settings=lambda w: evaluation_settings(config, w.dataset, w.evaluation),
        code=code_of("evaluate_snapshots", evaluation="evaluation", arch="arch", dataset="dataset"),
        device=config["device"],
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
