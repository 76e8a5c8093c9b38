#!/usr/bin/env python3
"""CLI start-up: isoflop subcommands against `python3 -S -c pass`, interleaved in one run.

Runs each command N times (round robin, so load changes hit every command alike), output to
/dev/null, and prints per command the median and minimum wall time and the peak RSS (wait4's
ru_maxrss), plus the load average before and after. The goal (issue 15): every subcommand but
`train` within 2x of `python3 -S -c pass`.

Usage: bench/cli/startup_bench.py [BUILD_DIR] [-n N]        (docs/benchmarks.md, "CLI start-up")
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, p.returncode


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("-n", type=int, default=50)
    a = ap.parse_args()
    isoflop = os.path.join(os.path.abspath(a.build), "bin", "isoflop")
    work = tempfile.mkdtemp(prefix="isoflop-startup-")
    # A real database for `status`: the tiny sweep's 15 runs, pending.
    shards = os.path.join(work, "shards")
    os.makedirs(shards)
    open(os.path.join(shards, "index.tsv"), "w").close()
    spec = os.path.join(work, "s.yaml")
    with open(spec, "w") as f:
        f.write("name: s\nout_dir: runs\ndata: shards\nbudgets_flops: [3e9, 1e10, 3e10]\nmodels:\n"
                "  - {layers: 1, d_model: 12, heads: 2}\n  - {layers: 2, d_model: 24, heads: 2}\n")
    db = os.path.join(work, "state.db")
    subprocess.run([isoflop, "sweep", "submit", spec, "--db", db], check=True, stdout=subprocess.DEVNULL)
    commands = [
        ("python3 -S -c pass", ["/usr/bin/python3", "-S", "-c", "pass"]),  # Debian's python3, not a pyenv shim
        ("isoflop --version", [isoflop, "--version"]),
        ("isoflop status --help", [isoflop, "status", "--help"]),
        ("isoflop status --db state.db (6 runs)", [isoflop, "status", "--db", db]),
        ("isoflop plan --help", [isoflop, "plan", "--help"]),
        ("isoflop fit --help", [isoflop, "fit", "--help"]),
    ]
    load0 = os.getloadavg()
    times = {name: [] for name, _ in commands}
    rss = {name: 0 for name, _ in commands}
    for _ in range(a.n):
        for name, argv in commands:
            wall, maxrss, code = run_once(argv)
            if code != 0:
                sys.exit("%s exited %d" % (" ".join(argv), code))
            times[name].append(wall)
            rss[name] = max(rss[name], maxrss)
    load1 = os.getloadavg()
    base = statistics.median(times[commands[0][0]])
    print("# %s, %d cores, %d rounds; load average before %.2f %.2f %.2f, after %.2f %.2f %.2f" %
          (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count(), a.n, *load0, *load1))
    print("| command | median ms | min ms | vs python3 -S | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, _ in commands:
        med = statistics.median(times[name])
        print("| `%s` | %.1f | %.1f | %.2fx | %.1f |" % (name, med * 1e3, min(times[name]) * 1e3, med / base,
                                                       rss[name] / 1024))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
