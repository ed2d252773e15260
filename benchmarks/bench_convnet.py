"""ConvNet training speed: a LeNet-style network against PyTorch on CPU.

conv 5x5 1->16, ReLU, max-pool 2, conv 5x5 16->32, ReLU, max-pool 2, dense 200,
ReLU, dense 10, on 10,000 synthetic 28x28 single-channel images (a smoothed
random template per class plus unit Gaussian noise: learnable, no download),
float32, Adam lr 1e-3, batch 128.  Reported: seconds per epoch (a fit of
``--epochs`` epochs divided by their number, so set-up is included) at 1 and 2
threads, best of the interleaved repeats; and eval-mode ``predict_proba`` of
all the images at 1 thread against PyTorch's ``eval()`` forward + softmax under
``no_grad`` in chunks of 512 images (best of at least 5).

The default ConvNets on the 8x8 digits (1,797 images as float32, 1 thread):
``ConvNetClassifier()`` and ``ConvNetRegressor()`` with their defaults (3x3 'same'
convolutions of 16 and 32 filters, each followed by ReLU and a 2x2 max-pool, dense
200, Adam lr 0.003, batch 32; the regressor fits the digit's value), against the
same networks in PyTorch (cross-entropy and squared error), seconds per epoch.

Run ``python benchmarks/bench_convnet.py`` (``--quick`` for a smoke run).
"""

import numpy as np
from _common import (
    Row,
    best,
    import_ours,
    import_torch,
    interleave,
    make_parser,
    probe_ours,
    quiet_convergence,
    report,
    threads,
    torch_train,
)


def convnet_data(n, seed=0):
    """``n`` flattened 28x28 float32 images and their labels (10 classes)."""
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(seed)
    templates = uniform_filter(rng.standard_normal((10, 28, 28)), size=(1, 5, 5)) * 3.0
    y = rng.integers(0, 10, size=n)
    X = templates[y] + rng.standard_normal((n, 28, 28))
    return X.reshape(n, 784).astype(np.float32), y


def ours_params(epochs):
    return dict(
        conv_filters=(16, 32),
        kernel_size=5,
        pool_size=2,
        padding="valid",  # as torch's nn.Conv2d(1, 16, 5): 28 -> 24 -> 12 -> 8 -> 4
        hidden_layer_sizes=(200,),
        input_shape=(28, 28),
        solver="adam",
        batch_size=128,
        learning_rate_init=1e-3,  # torch's lr below
        max_iter=epochs,
        random_state=0,
    )


def torch_convnet_fit(torch, X, y, epochs, batch_size=128, lr=1e-3, alpha=1e-4, seed=0):
    """The same network and training loop in plain PyTorch (float32)."""
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 200),
        nn.ReLU(),
        nn.Linear(200, 10),
    )
    Xt = torch.from_numpy(X).reshape(-1, 1, 28, 28)
    yt = torch.from_numpy(y.astype(np.int64))
    return torch_train(torch, model, Xt, yt, epochs, batch_size, lr, alpha, seed)


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--epochs", type=int, default=None, help="epochs per timed fit (default 2; 1 with --quick)"
    )
    p.add_argument("--no-predict", action="store_true", help="skip the predict_proba row")
    args = p.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    epochs = args.epochs or (1 if args.quick else 2)
    Ours = import_ours("ConvNetClassifier")
    torch = import_torch()
    n = 512 if args.quick else 10000
    X, y = convnet_data(n)

    def fit_ours():
        with quiet_convergence():
            return Ours(**ours_params(epochs)).fit(X, y)

    sides = {
        "ours": fit_ours if Ours is not None else None,
        "torch": (lambda: torch_convnet_fit(torch, X, y, epochs)) if torch is not None else None,
    }
    with threads(1, torch), quiet_convergence():  # warm-up on a few batches
        Ours = probe_ours(Ours, lambda: Ours(**ours_params(1)).fit(X[:256], y[:256]))
        if torch is not None:
            torch_convnet_fit(torch, X[:256], y[:256], 1)

    if Ours is None:
        sides["ours"] = None
    rows, raw = [], {}
    for nt in args.threads:
        with threads(nt, torch):
            times = interleave(sides, repeats)
        per_epoch = {k: [t / epochs for t in v] for k, v in times.items()}
        raw[f"{nt}thr"] = per_epoch
        print(f"# ConvNet {nt} thread(s), s/epoch: {per_epoch}", flush=True)
        target = ("<=", 1.0) if nt == 1 else ("<=", 2.0)
        rows.append(
            Row(
                f"ConvNet {n} imgs {nt}thr s/epoch vs PyTorch",
                best(per_epoch.get("ours")),
                best(per_epoch.get("torch")),
                target,
                peer_name="torch",
            )
        )
    if not args.no_predict:
        rows.append(predict_row(Ours, torch, X, y, repeats, raw))
    rows += digits_rows(torch, repeats, args.quick, raw)
    report("bench_convnet", rows, args, extra={"times_per_epoch": raw, "epochs": epochs})


def predict_row(Ours, torch, X, y, repeats, raw):
    """Eval-mode ``predict_proba`` of all the images, 1 thread, against PyTorch's
    ``model.eval()`` forward and softmax under ``torch.no_grad()``."""
    with threads(1, torch), quiet_convergence():
        est = Ours(**ours_params(1)).fit(X, y) if Ours is not None else None
        if torch is not None:
            model = torch_convnet_fit(torch, X[:1024], y[:1024], 1).eval()
            Xt = torch.from_numpy(X).reshape(-1, 1, 28, 28)
            n = X.shape[0]

            def torch_predict(bs=512):
                # in chunks of 512 images: PyTorch's fastest of 128 / 512 / 1,000 / 2,500
                # / all 10,000 at once here (1.49 s against 1.65 / 1.51 / 1.96 / 2.14)
                with torch.no_grad():
                    parts = [torch.softmax(model(Xt[s : s + bs]), dim=1) for s in range(0, n, bs)]
                    return torch.cat(parts).numpy()

        sides = {
            "ours": (lambda: est.predict_proba(X)) if est is not None else None,
            "torch": torch_predict if torch is not None else None,
        }
        for fn in sides.values():
            if fn is not None:
                fn()  # warm-up
        times = interleave(sides, max(repeats, 5))
    raw["predict 1thr"] = times
    print(f"# ConvNet predict_proba, {X.shape[0]} images, 1 thread, s: {times}", flush=True)
    return Row(
        f"ConvNet predict_proba {X.shape[0]} imgs 1thr vs PyTorch",
        best(times.get("ours")),
        best(times.get("torch")),
        ("<=", 1.0),
        peer_name="torch",
    )


def torch_default_convnet(n_out):
    """``ConvNetClassifier()``'s default network for 8x8 images, in PyTorch."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 200),
        nn.ReLU(),
        nn.Linear(200, n_out),
    )


def digits_rows(torch, repeats, quick, raw):
    """The default ConvNetClassifier and ConvNetRegressor on the 8x8 digits, float32,
    1 thread, seconds per epoch against the same networks in PyTorch."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    if quick:
        X, y = X[:256], y[:256]
    epochs = 1 if quick else 5
    rows = []
    for name, loss in (("ConvNetClassifier", "ce"), ("ConvNetRegressor", "mse")):
        Ours = import_ours(name)
        target = y if loss == "ce" else y.astype(np.float32)

        def fit_ours(Ours=Ours, target=target, epochs=epochs):
            with quiet_convergence():
                return Ours(max_iter=epochs, random_state=0).fit(X, target)

        def fit_torch(loss=loss, target=target, epochs=epochs):
            torch.manual_seed(0)
            model = torch_default_convnet(10 if loss == "ce" else 1)
            Xt = torch.from_numpy(X).reshape(-1, 1, 8, 8)
            if loss == "ce":
                yt, loss_fn = torch.from_numpy(y.astype(np.int64)), None
            else:
                yt, loss_fn = torch.from_numpy(target).reshape(-1, 1), torch.nn.MSELoss()
            return torch_train(torch, model, Xt, yt, epochs, 32, 3e-3, loss_fn=loss_fn)

        with threads(1, torch), quiet_convergence():
            Ours = probe_ours(Ours, lambda O=Ours, t=target: O(max_iter=1).fit(X[:64], t[:64]))
            sides = {
                "ours": fit_ours if Ours is not None else None,
                "torch": fit_torch if torch is not None else None,
            }
            for fn in sides.values():
                if fn is not None:
                    fn()  # warm-up
            times = interleave(sides, max(repeats, 5))
        per_epoch = {k: [t / epochs for t in v] for k, v in times.items()}
        raw[f"digits {name}"] = per_epoch
        print(f"# default {name}, digits, 1 thread, s/epoch: {per_epoch}", flush=True)
        rows.append(
            Row(
                f"{name}() digits 8x8 1thr s/epoch vs PyTorch",
                best(per_epoch.get("ours")),
                best(per_epoch.get("torch")),
                ("<=", 1.0),
                peer_name="torch",
            )
        )
    return rows


if __name__ == "__main__":
    main()
