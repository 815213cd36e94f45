"""The benchmarks' shared helpers: the figures they print are parsed and divided as documented."""

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _busy import busy, load_lines, metrics, percentile, ratio


def test_metrics_reads_name_number_lines_only():
    text = "# nginx 40000 req/s\njoin_time_ratio: 1.42\nbare_pair_join_ms: 388\nnote: slow\nx_s: -1.5\n"
    assert metrics(text) == {"join_time_ratio": 1.42, "bare_pair_join_ms": 388.0, "x_s": -1.5}


def test_ratio_divides_by_the_reference_and_refuses_an_empty_one():
    assert ratio(30_000, 60_000) == 0.5
    with pytest.raises(ValueError, match="positive"):
        ratio(1.0, 0.0)


def test_percentile_is_the_nearest_rank():
    samples = list(range(1, 101))  # 1..100
    assert percentile(samples, 0.99) == 99
    assert percentile(samples, 0.5) == 50
    assert percentile([7.0], 0.99) == 7.0
    assert percentile(list(reversed(samples)), 1.0) == 100
    with pytest.raises(ValueError):
        percentile([], 0.99)


def test_load_lines_are_parsed_as_figures():
    parsed = metrics(load_lines("1.50 1.20 0.90", "2.25 1.40 1.00"))
    assert parsed == {"load_average_before": 1.5, "load_average_after": 2.25}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_busy_runs_a_spinning_process_and_stops_it():
    with busy(True) as spinner:
        deadline = time.monotonic() + 10
        while _cpu_seconds(spinner.pid) < 0.2:  # it burns CPU, whatever the machine's load
            assert spinner.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    assert spinner.poll() is not None
    with busy(False) as nothing:
        assert nothing is None
