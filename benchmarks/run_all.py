"""Run every benchmark script in its own process and print one summary table.

``python benchmarks/run_all.py [--quick] [--only mlp predict ...] [--json-out FILE]``

Each script prints its own table and a ``RESULT_JSON`` line; this collects the
lines, prints all rows together and one combined ``RESULT_JSON`` line, and
(with ``--json-out``) writes the combined result to a file
(``benchmarks/results/*.json`` is ignored by git).  Exit status is 0 unless a
script fails, or, with ``--strict``, a row FAILs.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from _common import RESULT_PREFIX, Row, format_table, machine_info

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ["mlp", "predict", "convnet", "bagging", "memory", "layers", "neuralnet", "scaling"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    p.add_argument("--only", nargs="+", choices=SCRIPTS, default=SCRIPTS)
    p.add_argument("--json-out", default=None)
    p.add_argument("--strict", action="store_true", help="exit 1 if any row FAILs")
    args = p.parse_args()

    results, failed_scripts = [], []
    for name in args.only:
        cmd = [sys.executable, os.path.join(HERE, f"bench_{name}.py")]
        if args.quick:
            cmd.append("--quick")
        print(f"\n##### {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith(RESULT_PREFIX):
                results.append(json.loads(line[len(RESULT_PREFIX) :]))
            else:
                sys.stdout.write(line)
                sys.stdout.flush()
        if proc.wait() != 0:
            failed_scripts.append(name)
        print(f"##### bench_{name}.py took {time.perf_counter() - t0:.1f} s", flush=True)

    rows = []
    for res in results:
        for d in res["rows"]:
            target = d["target"]
            if target is not None:
                op, bound = target.split()
                target = (op, float(bound))
            rows.append(
                Row(
                    d["workload"],
                    d["ours"],
                    d["peer"],
                    target,
                    unit=d["unit"],
                    peer_name=d["peer_name"],
                    ratio=d["ratio"],
                )
            )
    combined = {
        "benchmark": "run_all",
        "quick": args.quick,
        "machine": machine_info(),
        "results": results,
        "failed_scripts": failed_scripts,
    }
    print("\n===== summary" + (" (--quick)" if args.quick else ""))
    print(format_table(rows))
    counts = {s: sum(r.status == s for r in rows) for s in ("PASS", "FAIL", "N/A", "INFO")}
    print(" ".join(f"{k}: {v}" for k, v in counts.items()))
    if failed_scripts:
        print(f"scripts that failed: {failed_scripts}")
    print(RESULT_PREFIX + json.dumps(combined, default=float))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as f:
            json.dump(combined, f, indent=1, default=float)
    if failed_scripts or (args.strict and counts["FAIL"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
