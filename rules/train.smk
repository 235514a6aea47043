rule train:
    input:
        # the prepared split is made from checksummed raw files: preparing it again (a new mtime, the
        # same content) never retrains (see invrob.guards); the monitor's test images are read from next to it
        train=ancient(paths.split_file("{dataset}", "train")),
        # `A-then-B` recipes start from the checkpoint of stage A (same dataset, arch and seed)
        init=lambda w: warm_start_input(w.dataset, w.arch, w.recipe, w.seed),
        # `mix{α}` recipes train on the robust dataset D_R of the configured source model (paper 003)
        robust=lambda w: robust_dataset_input(config, w.dataset, w.recipe),
    output:
        model=paths.CHECKPOINT,
    wildcard_constraints:
        arch=r"(?!external(?![a-z0-9_]))[a-z0-9_]+",  # not results/DATASET/external/…: rule import_model
    params:
        # every hyperparameter of the run: editing one in the config reruns only what it affects
        hp=lambda w: train_params(config, w.dataset, w.arch, w.recipe),
        code=code_of("train", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("train")
    # trainings before evaluations; the robust dataset's source model first (invrob.pipeline.train_priority)
    priority: lambda w: train_priority(config, w.dataset, w.arch, w.recipe, w.seed)
    resources:
        gpu=1,
        mem_mb=resource("train", "mem_mb"),
        runtime=resource("train", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("train", paths.RUN_ID),
    benchmark:
        benchmark_of("train", paths.RUN_ID)
    script:
        "../scripts/train.py"


# Paper 003: the same training run, saving a checkpoint after each epoch of `snapshots.epochs`
# and after the last one (attack success rate over training).
use rule train as train_snapshots with:
    output:
        snapshots=directory(paths.SNAPSHOTS),
    params:
        hp=lambda w: train_params(config, w.dataset, w.arch, w.recipe),
        epochs=snapshot_epochs(config),
        code=code_of("train_snapshots", arch="arch", dataset="dataset"),
    log:
        log_of("train_snapshots", paths.RUN_ID),
    benchmark:
        benchmark_of("train_snapshots", paths.RUN_ID)


# Paper 003: the robust dataset D_R (Ilyas et al.) of the training set, from a trained model.
rule robust_dataset:
    input:
        model=paths.CHECKPOINT,
        train=ancient(paths.split_file("{dataset}", "train")),
    output:
        robust=paths.ROBUST_DATASET,
    params:
        settings=lambda w: robust_dataset_params(config, w.dataset),
        code=code_of("robust_dataset", arch="arch", dataset="dataset"),
    threads: gpu_job_threads("train")
    priority: PRIORITY_CHAIN  # the D_mix trainings wait for it
    resources:
        gpu=1,
        mem_mb=resource("train", "mem_mb"),
        runtime=resource("train", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("robust_dataset", paths.RUN_ID),
    benchmark:
        benchmark_of("robust_dataset", paths.RUN_ID)
    script:
        "../scripts/robust_dataset.py"


# Bring your own checkpoint: a model of `external_models`, checked on its dataset (factory, weights, input
# shape, accuracy) and written as a checkpoint of the pipeline, so that every evaluation runs on it.
rule import_model:
    input:
        state_dict=lambda w: external_import_inputs(config, w.recipe, w.dataset)[0],
        # the factory's source file where it is one of the user's: an edit imports the model again
        source=lambda w: external_import_inputs(config, w.recipe, w.dataset)[1:],
        test=ancient(paths.split_file("{dataset}", "test")),
    output:
        model=paths.CHECKPOINT,
    wildcard_constraints:
        arch="external",
        seed="0",
    params:
        record=lambda w: external_import_params(config, w.recipe),
        code=code_of("import_model", dataset="dataset"),
    threads: gpu_job_threads("evaluate")
    resources:
        gpu=1,
        mem_mb=resource("evaluate", "mem_mb"),
        runtime=resource("evaluate", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("import_model", paths.RUN_ID),
    benchmark:
        benchmark_of("import_model", paths.RUN_ID)
    script:
        "../scripts/import_model.py"
