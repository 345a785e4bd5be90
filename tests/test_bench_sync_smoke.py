"""`cchc bench sync` at a tiny N: the JSON keys the issue names (no timing asserted)."""

from cchc.bench.sync import bench_sync


def test_bench_sync_reports_the_named_keys(tmp_path):
    out = bench_sync(300, f"sqlite:///{tmp_path}/bench.sqlite", pages_dir=tmp_path)
    for key in ("seconds", "ratio", "peak_rss_mb", "dossiers_per_s", "baseline_per_s", "fetch_only_per_s"):
        assert out[key] > 0, key
    assert out["dossiers"] == out["baseline_dossiers"] >= 290  # both sides read the same recorded pages
    assert out["pages"] == len(list((tmp_path / "pages-300").glob("0*.json"))) >= 1
