rule prepare_dataset:
    output:
        train=paths.split_file("{dataset}", "train"),
        test=paths.split_file("{dataset}", "test"),
        info=paths.DATASET_INFO,
    threads: res("prepare_dataset", "threads")
    resources:
        mem_mb=res("prepare_dataset", "mem_mb"),
        runtime=res("prepare_dataset", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("prepare_dataset", "{dataset}"),
    benchmark:
        benchmark_of("prepare_dataset", "{dataset}")
    script:
        "../scripts/prepare_dataset.py"
