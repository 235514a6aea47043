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
        mem_mb=resource("table", "mem_mb"),
        runtime=resource("evaluate", "runtime"),
    conda:
        "../environment.yml"
    log:
        log_of("theory", "cyclic_code"),
    benchmark:
        benchmark_of("theory", "cyclic_code")
    script:
        "../scripts/theory.py"
