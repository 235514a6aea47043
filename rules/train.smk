rule train:
    input:
        train="data/{dataset}/train.pt",
        test="data/{dataset}/test.pt",
        # `A-then-B` recipes start from the checkpoint of stage A (same dataset, arch and seed)
        init=lambda w: warm_start_input(w.dataset, w.arch, w.recipe, w.seed),
    output:
        model="results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt",
    params:
        # every hyperparameter of the run: editing one in the config reruns only what it affects
        hp=lambda w: train_params(config, w.dataset, w.arch, w.recipe),
        device=config["device"],
    threads: res("train", "threads")
    resources:
        gpu=1,
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/train/{dataset}/{arch}/{recipe}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{arch}/{recipe}/seed{seed}.tsv"
    script:
        "../scripts/train.py"
