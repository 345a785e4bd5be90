"""`cchc bench indicators` at a tiny N: the JSON keys the issue names, sane figures (no timing asserted)."""

from cchc.bench.indicators import bench_indicators


def test_bench_indicators_reports_the_named_keys(tmp_path):
    out = bench_indicators(300, f"sqlite:///{tmp_path}/bench.sqlite")
    for key in ("seconds", "ratio", "peak_rss_mb"):
        assert out[key] > 0, key
    assert out["baseline_seconds"] >= 0
    assert out["dossiers"] >= 290
    assert out["tables"] == 5 and out["bieu06_rows"] > 2 and out["scores"] > 1
    assert out["first_run_seconds"] >= out["seconds"]
    assert 0 < out["helper_peak_rss_mb"] <= out["peak_rss_with_helpers_mb"]  # SQLite reads ran in helpers
    assert out["peak_rss_with_helpers_mb"] >= out["peak_rss_mb"]
    again = bench_indicators(300, f"sqlite:///{tmp_path}/bench.sqlite")  # the fill is reused
    assert again["dossiers"] == out["dossiers"]


def test_bench_sample_reports_the_named_keys(tmp_path):
    from cchc.bench.sample import bench_sample

    out = bench_sample(400, f"sqlite:///{tmp_path}/bench.sqlite")
    for key in ("seconds", "ratio", "peak_rss_mb"):
        assert out[key] > 0, key
    assert out["baseline_seconds"] >= 0
    assert len(out["units"]) == 2  # "2 of 3" in the demo plan
    assert out["lot"] > 0 and 0 < out["sampled"] <= out["lot"]
    assert abs(out["baseline_counted"] - out["lot"]) <= max(5, out["lot"] // 50)  # the same units' dossiers


def test_bench_reminders_reports_the_named_keys(tmp_path):
    from cchc.bench.reminders import RUNS, bench_reminders

    out = bench_reminders(400, f"sqlite:///{tmp_path}/bench.sqlite")
    for key in ("seconds", "ratio", "peak_rss_mb"):
        assert out[key] > 0, key
    assert out["baseline_seconds"] >= 0 and out["baseline_indexed_seconds"] >= 0
    assert out["dossiers"] >= 390
    # each measured run sent every digest once, through the real local mailbox
    assert out["messages"] == out["enqueued"] > 0 and out["received_by_mailbox"] == RUNS * out["messages"]
