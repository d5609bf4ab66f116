"""CLI start-up benchmark: wall time of `watchkeeper` verbs, median of N runs each.

    .venv/bin/python bench/cli.py            # 10 runs per case
    .venv/bin/python bench/cli.py --runs 20

Cases: `--help` (the root: lists every verb without importing one), a verb's `--help` (imports
that verb's domain CLI), `--version`, and `service list --json` against a scratch SQLite file
(a verb that opens the store: the ORM, the settings, the migrations check). `python -c pass` is
the floor: the interpreter's own start-up on this machine at this moment. Spec target (issue 11):
`watchkeeper --help` and simple verbs in < 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.strip()[-500:]}")
    return {"median_s": round(statistics.median(samples), 3), "min_s": round(min(samples), 3), "max_s": round(max(samples), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WATCHKEEPER_DATABASE_URL": f"sqlite:///{Path(tmp) / 'wk.db'}"}
        wk = [sys.executable, "-m", "watchkeeper"]
        subprocess.run([*wk, "migrate"], env=env, check=True, capture_output=True)  # the store exists and is current
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "watchkeeper --help": [*wk, "--help"],
            "watchkeeper --version": [*wk, "--version"],
            "watchkeeper alert --help": [*wk, "alert", "--help"],
            "watchkeeper --json service list": [*wk, "--json", "service", "list"],
        }
        results = {name: timed(argv, env, args.runs) for name, argv in cases.items()}
    print(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(), "load_1m": os.getloadavg()[0],
                      "runs": args.runs, "results": results}, indent=2))


if __name__ == "__main__":
    main()
