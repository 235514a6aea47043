rule prepare_dataset:
    output:
        train=paths.split_file("{dataset}", "train"),
        test=paths.split_file("{dataset}", "test"),
        info=paths.DATASET_INFO,
    threads: resource("prepare_dataset", "threads")
    resources:
        mem_mb=resource("prepare_dataset", "mem_mb"),
        runtime=resource("prepare_dataset", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("prepare_dataset", "{dataset}"),
    benchmark:
        benchmark_of("prepare_dataset", "{dataset}")
    script:
        "../scripts/prepare_dataset.py"
