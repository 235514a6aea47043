# Paper 001 §3 simulated: the cyclic-code distribution, classifiers trained on it, Proposition 1 and
# Theorem 2 (seconds on a CPU; the same at every scale).  Read by figures of kind theorem2 and the claims.
rule theory:
    output:
        json=paths.THEORY,
    params:
        settings=theory_settings(config) if config.get("theory") else {},
        code=lambda w: job_code("theory"),
    threads: 1
    resources:
        mem_mb=res("table", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("theory", "cyclic_code"),
    benchmark:
        benchmark_of("theory", "cyclic_code")
    script:
        "../scripts/theory.py"
