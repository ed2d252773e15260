"""Why scikit-learn's sample-weight-equivalence checks cannot pass for some settings.

The checks fit once with integer weights and once with the rows repeated that many
times, and demand the same model.  That holds for full-batch, mask-free training
(the check's data fit in one "auto" batch of 200 rows), and is listed as an
expected failure, with its reason, exactly where something else breaks it.
"""

_CHECKS = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
)


def sample_weight_xfails(est):
    """``{check: reason}`` for the settings under which repeated rows != weighted rows."""
    p = est.get_params()
    reason = None
    if p.get("n_estimators", 1) > 1:
        reason = "members draw different rows when rows are repeated (as scikit-learn's Bagging)"
    elif p["early_stopping"]:
        reason = "the validation split differs when rows are repeated"
    elif p["batch_size"] != "auto":
        reason = "minibatches: repeated rows land in other batches than a weighted row"
    elif p.get("dropout") or p.get("input_dropout") or p.get("input_noise"):
        reason = "random masks and noise are drawn per row, so repeats draw more of them"
    elif p.get("batch_norm"):
        reason = (
            "batch normalisation's statistics count each row once whatever its weight "
            "(as PyTorch's), so repeated rows move the mean and variance a weight does not"
        )
    elif p.get("activity_l1"):
        reason = "the activity penalty averages |a| over a batch's rows unweighted (nn.L1Penalty)"
    return dict.fromkeys(_CHECKS, reason) if reason else {}


def expected_failed_checks(est):
    """``parametrize_with_checks``' hook: the sample-weight expected failures of ``est``."""
    return sample_weight_xfails(est)
