"""Bagging speed-up: ``MLPClassifier(n_estimators=4)`` with ``n_jobs=2`` against ``n_jobs=1``.

The MLP-digits workload (``load_digits``, hidden ``(100,)``, ReLU, Adam lr
1e-3, batch 200, alpha 1e-4, 50 epochs, all run), 4 members.  BLAS is pinned
to 1 thread in the parent; with ``n_jobs=2`` joblib's workers get
``cpu_count // n_jobs`` BLAS threads (1 here), so both runs use one thread per
member and the ratio is the parallel speed-up, ``time(n_jobs=1) /
time(n_jobs=2)`` (target >= 1.7 on 2 cores).  scikit-learn's
``BaggingClassifier`` over its ``MLPClassifier`` is timed the same way for
information.

Run ``python benchmarks/bench_bagging.py`` (``--quick`` for a smoke run).
"""

from _common import (
    Row,
    best,
    import_ours,
    interleave,
    make_parser,
    mlp_params,
    probe_ours,
    quiet_convergence,
    report,
    threads,
)
from sklearn.datasets import load_digits
from sklearn.ensemble import BaggingClassifier
from sklearn.neural_network import MLPClassifier as SkMLP

N_MEMBERS = 4


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--no-sklearn", action="store_true", help="skip the BaggingClassifier rows")
    args = p.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    Ours = import_ours("MLPClassifier")
    X, y = load_digits(return_X_y=True)
    params = mlp_params((100,), 3 if args.quick else 50)
    with threads(1), quiet_convergence():
        Ours = probe_ours(
            Ours, lambda: Ours(n_estimators=2, n_jobs=1, **mlp_params((8,), 1)).fit(X, y)
        )

    def ours(n_jobs):
        if Ours is None:
            return None

        def fit():
            with quiet_convergence():
                return Ours(n_estimators=N_MEMBERS, n_jobs=n_jobs, **params).fit(X, y)

        return fit

    def sk(n_jobs):
        if args.no_sklearn:
            return None

        def fit():
            with quiet_convergence():
                est = BaggingClassifier(
                    SkMLP(**params), n_estimators=N_MEMBERS, n_jobs=n_jobs, random_state=0
                )
                return est.fit(X, y)

        return fit

    sides = {
        "ours n_jobs=1": ours(1),
        "ours n_jobs=2": ours(2),
        "sklearn n_jobs=1": sk(1),
        "sklearn n_jobs=2": sk(2),
    }
    with threads(1):
        for name, fn in sides.items():  # warm-up: starts joblib's worker processes
            if fn is not None and name.endswith("2"):
                fn()
        times = interleave(sides, repeats)
    print(f"# bagging times: {times}", flush=True)
    t = {k: best(v) for k, v in times.items()}
    rows = [
        Row(
            f"Bagging {N_MEMBERS}x MLP-digits: n_jobs=2 vs 1 (speed-up)",
            t.get("ours n_jobs=2"),
            t.get("ours n_jobs=1"),
            (">=", 1.7),
            peer_name="ours n_jobs=1",
            ratio=(t["ours n_jobs=1"] / t["ours n_jobs=2"]) if Ours is not None else None,
            note="ratio is time(n_jobs=1) / time(n_jobs=2)",
        ),
    ]
    if not args.no_sklearn:
        rows.append(
            Row(
                "[info] sklearn BaggingClassifier: n_jobs=2 vs 1 (speed-up)",
                t["sklearn n_jobs=2"],
                t["sklearn n_jobs=1"],
                None,
                peer_name="n_jobs=1",
                ratio=t["sklearn n_jobs=1"] / t["sklearn n_jobs=2"],
            )
        )
    report("bench_bagging", rows, args, extra={"times": times})


if __name__ == "__main__":
    main()
