"""Snakemake's per-job benchmark files read back (invrob.job_benchmarks), on hand-written files."""

import pytest

from invrob.job_benchmarks import read_job_benchmarks, rule_seconds, summarise

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(run, rel, s, cpu="NA", rss="100.5"):
    path = run / "benchmarks" / f"{rel}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{s}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


@pytest.fixture
def run(tmp_path):
    write(tmp_path, "train/fashion_mnist/stdcnn/rot0/seed0", 100.0, cpu="90.5")
    write(tmp_path, "train/fashion_mnist/gcnn/rot0/seed0", 300.0, cpu="280")
    write(tmp_path, "evaluate/fashion_mnist/stdcnn/rot0/seed0/robustness-pgd", 40.0, cpu="35")
    write(tmp_path, "evaluate/fashion_mnist/gcnn/rot0/seed0/robustness-pgd", 60.0)
    write(tmp_path, "evaluate/fashion_mnist/gcnn/rot0/seed0/clean", 4.0, rss="NA")
    write(tmp_path, "figures/fig1", 6.0, cpu="5")
    (tmp_path / "benchmarks/train/fashion_mnist/stdcnn/rot30").mkdir(parents=True)
    (tmp_path / "benchmarks/train/fashion_mnist/stdcnn/rot30/seed0.tsv").write_text("")  # a killed job's
    return tmp_path


def test_records_name_rule_job_and_numbers(run):
    records = {(r["rule"], r["job"]): r for r in read_job_benchmarks(run)}
    assert len(records) == 6  # the empty file is skipped
    pgd = records["evaluate", "fashion_mnist/gcnn/rot0/seed0/robustness-pgd"]
    assert pgd["s"] == 60.0 and pgd["cpu_s"] is None and pgd["max_rss_mb"] == 100.5
    assert records["evaluate", "fashion_mnist/gcnn/rot0/seed0/clean"]["max_rss_mb"] is None
    assert records["figures", "fig1"]["cpu_s"] == 5.0


def test_rule_seconds_sums_jobs_by_rule_in_name_order(run):
    assert rule_seconds(run) == {"evaluate": {"jobs": 3, "seconds": 104.0}, "figures": {"jobs": 1, "seconds": 6.0},
                                 "train": {"jobs": 2, "seconds": 400.0}}  # fmt: skip
    assert list(rule_seconds(run)) == ["evaluate", "figures", "train"]


def test_summary_by_rule_by_evaluation_slowest_and_startup_share(run):
    summary = summarise(read_job_benchmarks(run), slowest=2, startup_s={"figures": 1.0, "*": 3.0})
    assert summary["jobs"] == 6 and summary["job_seconds"] == 510.0
    assert list(summary["rules"]) == ["train", "evaluate", "figures"]  # most seconds first
    assert summary["rules"]["train"] == {"jobs": 2, "seconds": 400.0, "mean_s": 200.0, "max_s": 300.0,
                                         "cpu_seconds": 370.5}  # fmt: skip
    assert summary["rules"]["evaluate"]["cpu_seconds"] == 35.0  # NA counts as nothing
    assert summary["evaluations"] == {
        "robustness-pgd": {"jobs": 2, "seconds": 100.0, "mean_s": 50.0, "max_s": 60.0, "cpu_seconds": 35.0},
        "clean": {"jobs": 1, "seconds": 4.0, "mean_s": 4.0, "max_s": 4.0, "cpu_seconds": 0.0}}
    assert [j["job"] for j in summary["slowest_jobs"]] == ["fashion_mnist/gcnn/rot0/seed0",
                                                           "fashion_mnist/stdcnn/rot0/seed0"]  # fmt: skip
    # 5 torch jobs × 3 s + 1 drawing job × 1 s = 16 of 510 job seconds
    assert summary["startup"] == {"per_job_s": {"figures": 1.0, "*": 3.0}, "job_seconds": 16.0, "share": 0.031}


def test_a_folder_without_benchmarks_has_no_records(tmp_path):
    assert read_job_benchmarks(tmp_path) == [] and summarise([])["job_seconds"] == 0
