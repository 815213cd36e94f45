"""What every benchmark shares: `--busy` (one core kept busy by a process the benchmark starts), the load
average, and the `name: number` lines with a figure's reference and ratio.

    from _busy import bench_arguments, busy, load_average
    args = bench_arguments(__doc__)          # adds --busy
    with busy(args.busy):                    # a Python busy loop on one core for the whole run
        ...
    print(f"load_average: {load_average()}")
"""

import argparse
import contextlib
import os
import re
import subprocess
import sys

# A separate interpreter, not a thread: it must take a core, not this process's GIL. It spins until
# told to stop, or until its benchmark is gone (killed, it could not stop it), or after `seconds`.
BUSY_LOOP = """
import os, sys, time
parent, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while os.getppid() == parent and time.monotonic() < end:
    for _ in range(100_000):
        pass
"""
METRIC = re.compile(r"^([a-z][a-z0-9_]*): (-?[0-9][0-9.]*)$")


def bench_arguments(doc: str | None, *, parser: argparse.ArgumentParser | None = None, argv=None):
    """Parse the command line of a benchmark: `--busy` plus whatever `parser` already declares."""
    parser = parser or argparse.ArgumentParser(description=(doc or "").strip().split("\n")[0])
    parser.add_argument("--busy", action="store_true", help="keep one core busy for the whole run")
    return parser.parse_args(argv)


@contextlib.contextmanager
def busy(enabled: bool = True):
    """Keep one core busy with a Python busy loop while the block runs; stops it on the way out."""
    if not enabled:
        yield None
        return
    spinner = busy_core()
    try:
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


def busy_core(seconds: float = 24 * 3600) -> subprocess.Popen:
    """Start the spinning process; the caller kills it (`busy` does)."""
    command = [sys.executable, "-c", BUSY_LOOP, str(os.getpid()), str(seconds)]
    return subprocess.Popen(command)  # noqa: S603 - our own interpreter


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` gives them."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def load_lines(before: str, after: str | None = None) -> str:
    """`load_average_before` and `load_average_after` lines (1 minute), then all three of each."""
    after = after or load_average()
    return (
        f"load_average_before: {before.split()[0]}\nload_average_after: {after.split()[0]}\n"
        f"# load average (1, 5, 15 min) before {before}, after {after}"
    )


def ratio(value: float, reference: float) -> float:
    """`value` divided by its reference measured in the same run."""
    if reference <= 0:
        raise ValueError(f"the reference must be positive, not {reference}")
    return value / reference


def percentile(samples, fraction: float) -> float:
    """The nearest-rank percentile (0.99 for p99) of a non-empty list of samples."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil(n * fraction), at least the first
    return ordered[int(rank) - 1]


def metrics(text: str) -> dict[str, float]:
    """The `name: number` lines of a benchmark's output."""
    found = {}
    for line in text.splitlines():
        match = METRIC.match(line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found
