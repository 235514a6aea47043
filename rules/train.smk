rule train:
    input:
        # the prepared split is made from checksummed raw files: preparing it again (a new mtime, the
        # same content) never retrains (see invrob.guards); the monitor's test images are read from next to it
        train=ancient("data/{dataset}/train.pt"),
        # `A-then-B` recipes start from the checkpoint of stage A (same dataset, arch and seed)
        init=lambda w: warm_start_input(w.dataset, w.arch, w.recipe, w.seed),
        # `mix{α}` recipes train on the robust dataset D_R of the configured source model (paper 003)
        robust=lambda w: robust_dataset_input(config, w.dataset, w.recipe),
    output:
        model="results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt",
    params:
        # every hyperparameter of the run: editing one in the config reruns only what it affects
        hp=lambda w: train_params(config, w.dataset, w.arch, w.recipe),
        code=code_of("train", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("train")
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


# Paper 003: the same training run, saving a checkpoint after each epoch of `snapshots.epochs`
# and after the last one (attack success rate over training).
rule train_snapshots:
    input:
        train=ancient("data/{dataset}/train.pt"),
        init=lambda w: warm_start_input(w.dataset, w.arch, w.recipe, w.seed),
        robust=lambda w: robust_dataset_input(config, w.dataset, w.recipe),
    output:
        snapshots=directory("results/{dataset}/{arch}/{recipe}/seed{seed}/snapshots/models"),
    params:
        hp=lambda w: train_params(config, w.dataset, w.arch, w.recipe),
        epochs=snapshot_epochs(config),
        code=code_of("train_snapshots", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("train")
    resources:
        gpu=1,
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/train_snapshots/{dataset}/{arch}/{recipe}/seed{seed}.log",
    benchmark:
        "benchmarks/train_snapshots/{dataset}/{arch}/{recipe}/seed{seed}.tsv"
    script:
        "../scripts/train.py"


# Paper 003: the robust dataset D_R (Ilyas et al.) of the training set, from a trained model.
rule robust_dataset:
    input:
        model="results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt",
        train=ancient("data/{dataset}/train.pt"),
    output:
        robust="results/{dataset}/{arch}/{recipe}/seed{seed}/robust_dataset.pt",
    params:
        settings=lambda w: robust_dataset_params(config, w.dataset),
        code=code_of("robust_dataset", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("train")
    resources:
        gpu=1,
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
    conda:
        "../environment.yml"
    log:
        "logs/robust_dataset/{dataset}/{arch}/{recipe}/seed{seed}.log",
    benchmark:
        "benchmarks/robust_dataset/{dataset}/{arch}/{recipe}/seed{seed}.tsv"
    script:
        "../scripts/robust_dataset.py"
