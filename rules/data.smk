rule prepare_dataset:
    output:
        train="data/{dataset}/train.pt",
        test="data/{dataset}/test.pt",
        info="data/{dataset}/info.json",
    threads: res("prepare_dataset", "threads")
    resources:
        mem_mb=res("prepare_dataset", "mem_mb"),
        runtime=res("prepare_dataset", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/prepare_dataset/{dataset}.log",
    benchmark:
        "benchmarks/prepare_dataset/{dataset}.tsv"
    script:
        "../scripts/prepare_dataset.py"
