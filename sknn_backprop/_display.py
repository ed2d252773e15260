"""Plots of fitted networks, following scikit-learn's Display convention.

A Display holds the numbers to plot (``__init__``), draws them with ``plot`` and
keeps the matplotlib artists it drew as attributes ending in ``_``;
``from_estimator`` reads the numbers from a fitted estimator and plots them in one
call.  matplotlib is imported only when something is drawn.
"""

import numbers

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

try:  # where scikit-learn's own Displays take it from
    from sklearn.utils._optional_dependencies import check_matplotlib_support
except ImportError:  # pragma: no cover - older layouts
    from sklearn.utils import check_matplotlib_support

__all__ = ["TrainingCurveDisplay", "FilterDisplay"]

_ALIASES = {"c": "color", "ls": "linestyle", "lw": "linewidth", "ms": "markersize"}


def _style(default, user):
    """``default`` updated by ``user``, with matplotlib's short aliases made long
    (so that a user's ``c=`` replaces the default ``color=`` instead of clashing)."""
    style = dict(default)
    for key, value in (user or {}).items():
        if key in _ALIASES and _ALIASES[key] in (user or {}):
            raise TypeError(f"Got both {key} and {_ALIASES[key]}, which are aliases of one another")
        style[_ALIASES.get(key, key)] = value
    return style


def _final_step(estimator):
    """The network of a ``Pipeline`` (its last step), or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        return steps[-1][1]
    return estimator


def _bagged_member(net, member):
    """``net.estimators_[member]``, or a ValueError naming what is wrong."""
    bagged = net.__dict__.get("estimators_") or []
    if not bagged:
        raise ValueError(
            f"member={member!r} needs a bagged network (n_estimators > 1); "
            f"this {type(net).__name__} has no estimators_."
        )
    if not isinstance(member, numbers.Integral) or not -len(bagged) <= member < len(bagged):
        raise ValueError(
            f"member must be an int in [0, {len(bagged)}) for this ensemble of "
            f"{len(bagged)}, got {member!r}."
        )
    return bagged[member]


def _as_curve(values):
    """A list of per-epoch values as a float array, or None for None / empty."""
    if values is None or len(values) == 0:
        return None
    return np.asarray(values, dtype=float)


class TrainingCurveDisplay:
    """Training-loss curve of a network, with its validation curves and best epoch.

    The training loss of every epoch (or L-BFGS iteration) is drawn on the left
    axis; with early stopping, the validation loss on the same axis and the
    validation score (accuracy or R²) on a twin axis at the right, and a vertical
    line at the best epoch -- the one whose weights the fit restored.  For a
    bagged network (``n_estimators > 1``) the members' own loss curves are drawn
    as thin lines behind the ensemble's mean curve.

    Create it with :meth:`from_estimator` or from recorded curves, then call
    :meth:`plot`.  Epochs are numbered from 1: the values at index ``i`` of the
    curves are drawn at ``x = i + 1``.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training loss per epoch (``loss_curve_``).
    validation_loss_curve : array-like of shape (n_val_epochs,), default=None
        The validation loss per epoch (``validation_loss_curve_``).  A curve
        shorter than ``loss_curve`` (a warm start that turned early stopping on)
        is aligned with its last epochs.
    validation_scores : array-like of shape (n_val_epochs,), default=None
        The validation score per epoch (``validation_scores_``), drawn on a twin
        axis.
    best_epoch : int, default=None
        The epoch (counted from 1) to mark with a vertical line, usually the one
        whose weights early stopping restored.
    member_curves : list of array-like, default=None
        The loss curves of the members of a bagged model
        (``estimators_[i].loss_curve_``).
    estimator_name : str, default=None
        Name used in the legend and title.
    score_name : str, default=None
        What the validation score is, for the axis label (``"accuracy"``,
        ``"R²"``); ``None`` says "validation score".

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training-loss curve.
    validation_loss_line_ : matplotlib Line2D or None
        The validation-loss curve.
    validation_score_line_ : matplotlib Line2D or None
        The validation-score curve, on ``score_ax_``.
    score_ax_ : matplotlib Axes or None
        The twin axis (right-hand scale) of the validation score.
    best_epoch_line_ : matplotlib Line2D or None
        The vertical line at ``best_epoch``.
    member_lines_ : list of matplotlib Line2D
        One thin line per member of a bagged model (empty otherwise).
    ax_ : matplotlib Axes
        The axes of the loss curves.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    FilterDisplay : The filters of a convolution layer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sknn_backprop import MLPClassifier, TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True,
    ...                     max_iter=30, random_state=0).fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> len(display.line_.get_xdata()) == clf.n_iter_
    True
    >>> int(display.best_epoch) == int(np.argmax(clf.validation_scores_)) + 1
    True
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_loss_curve=None,
        validation_scores=None,
        best_epoch=None,
        member_curves=None,
        estimator_name=None,
        score_name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.best_epoch = best_epoch
        self.member_curves = member_curves
        self.estimator_name = estimator_name
        self.score_name = score_name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        log_scale=False,
        loss_kw=None,
        validation_loss_kw=None,
        validation_score_kw=None,
        best_epoch_kw=None,
        member_kw=None,
        legend=True,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` makes a new figure.  Drawing several
            displays on one ``ax`` overlays their curves (each adds its own twin
            axis when it has validation scores).
        name : str, default=None
            Legend name of the training curve; defaults to ``estimator_name``.
        log_scale : bool, default=False
            Whether the loss axis is logarithmic.
        loss_kw, validation_loss_kw, validation_score_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` of the training loss, the
            validation loss and the validation score; they override the defaults.
        best_epoch_kw, member_kw : dict, default=None
            Keyword arguments for ``axvline`` of the best-epoch marker and for
            ``plot`` of the members' curves.
        legend : bool, default=True
            Whether to draw a legend (of both axes).

        Returns
        -------
        display : TrainingCurveDisplay
            This object, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        loss = _as_curve(self.loss_curve)
        if loss is None:
            raise ValueError("loss_curve is empty: there is nothing to plot.")
        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        epochs = np.arange(1, len(loss) + 1)

        self.member_lines_ = _plot_members(ax, self.member_curves, member_kw)

        label = "training loss" if name is None else f"{name}: training loss"
        style = _style({"color": "tab:blue", "linewidth": 2, "label": label, "zorder": 3}, loss_kw)
        (self.line_,) = ax.plot(epochs, loss, **style)

        self.validation_loss_line_ = None
        val_loss = _as_curve(self.validation_loss_curve)
        if val_loss is not None:
            x = np.arange(len(loss) - len(val_loss) + 1, len(loss) + 1)
            style = _style(
                {"color": "tab:orange", "linewidth": 2, "label": "validation loss", "zorder": 3},
                validation_loss_kw,
            )
            (self.validation_loss_line_,) = ax.plot(x, val_loss, **style)

        self.best_epoch_line_ = None
        if self.best_epoch is not None:
            style = _style(
                {
                    "color": "0.3",
                    "linestyle": ":",
                    "linewidth": 1.5,
                    "label": f"best epoch ({int(self.best_epoch)})",
                },
                best_epoch_kw,
            )
            self.best_epoch_line_ = ax.axvline(self.best_epoch, **style)

        self._plot_scores(ax, len(loss), validation_score_kw)
        _decorate(ax, self.score_ax_, name, log_scale, legend)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _plot_scores(self, ax, n_epochs, validation_score_kw):
        """The validation score on a twin axis (``score_ax_``), aligned to the last epochs."""
        self.score_ax_ = self.validation_score_line_ = None
        scores = _as_curve(self.validation_scores)
        if scores is None:
            return
        self.score_ax_ = ax.twinx()
        x = np.arange(n_epochs - len(scores) + 1, n_epochs + 1)
        score_label = "validation " + (self.score_name or "score")
        style = _style(
            {"color": "tab:green", "linewidth": 1.5, "linestyle": "--", "label": score_label},
            validation_score_kw,
        )
        (self.validation_score_line_,) = self.score_ax_.plot(x, scores, **style)
        self.score_ax_.set_ylabel(score_label)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        name=None,
        members=True,
        member=None,
        log_scale=False,
        loss_kw=None,
        validation_loss_kw=None,
        validation_score_kw=None,
        best_epoch_kw=None,
        member_kw=None,
        legend=True,
    ):
        """Plot the training curves of a fitted network.

        Reads ``loss_curve_``, ``validation_loss_curve_`` and
        ``validation_scores_``; the best epoch is where early stopping's monitored
        quantity was best: the minimum of ``validation_loss_curve_`` with
        ``early_stopping_metric='loss'``, else the maximum of
        ``validation_scores_`` (the first one on ties, as the fit does).  L-BFGS
        fits and fits without early stopping only have the training curve.

        Parameters
        ----------
        estimator : MLPClassifier, MLPRegressor, ConvNetClassifier or Pipeline
            A fitted network, or a fitted ``Pipeline`` ending in one.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` makes a new figure.
        name : str, default=None
            Legend name; defaults to the estimator's class name.
        members : bool, default=True
            For a bagged network, whether to draw each member's loss curve
            (``estimators_[i].loss_curve_``) behind the ensemble's mean.
        member : int, default=None
            For a bagged network, draw this member's curves instead
            (``estimators_[member]``): its own validation curves and best epoch,
            which the ensemble's mean does not have.
        log_scale : bool, default=False
            Whether the loss axis is logarithmic.
        loss_kw, validation_loss_kw, validation_score_kw : dict, default=None
            Keyword arguments for matplotlib, passed to :meth:`plot`.
        best_epoch_kw, member_kw : dict, default=None
            Keyword arguments for matplotlib, passed to :meth:`plot`.
        legend : bool, default=True
            Whether to draw a legend.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, drawn.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If ``member`` is given for a network that is not bagged, or is not
            the index of one of its members.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        net = _final_step(estimator)
        check_is_fitted(estimator)
        if member is not None:
            if name is None:
                name = f"{type(net).__name__}, member {member}"
            net = _bagged_member(net, member)
        if not hasattr(net, "loss_curve_"):
            raise TypeError(
                f"{type(net).__name__} has no loss_curve_: TrainingCurveDisplay needs a "
                "fitted MLPClassifier, MLPRegressor or ConvNetClassifier."
            )
        val_loss = _as_curve(getattr(net, "validation_loss_curve_", None))
        scores = _as_curve(getattr(net, "validation_scores_", None))
        best_epoch = None
        if getattr(net, "early_stopping_metric", "score") == "loss" and val_loss is not None:
            if not np.isnan(val_loss).all():
                best_epoch = len(net.loss_curve_) - len(val_loss) + int(np.nanargmin(val_loss)) + 1
        elif scores is not None and not np.isnan(scores).all():
            best_epoch = len(net.loss_curve_) - len(scores) + int(np.nanargmax(scores)) + 1
        member_curves = None
        if members and getattr(net, "estimators_", None):
            member_curves = [list(m.loss_curve_) for m in net.estimators_]
        score_name = "accuracy" if is_classifier(net) else "R²" if is_regressor(net) else None
        display = cls(
            loss_curve=list(net.loss_curve_),
            validation_loss_curve=None if val_loss is None else list(val_loss),
            validation_scores=None if scores is None else list(scores),
            best_epoch=best_epoch,
            member_curves=member_curves,
            estimator_name=type(net).__name__ if name is None else name,
            score_name=score_name,
        )
        return display.plot(
            ax=ax,
            log_scale=log_scale,
            loss_kw=loss_kw,
            validation_loss_kw=validation_loss_kw,
            validation_score_kw=validation_score_kw,
            best_epoch_kw=best_epoch_kw,
            member_kw=member_kw,
            legend=legend,
        )


class FilterDisplay:
    """The filters of a convolution layer, as a grid of images on one colour scale.

    Every filter ``weight[f, c]`` (``kh x kw``) is drawn as an image; all images
    share one colour scale, symmetric about zero (``-m .. m`` with ``m`` the largest
    absolute weight), so that a colour means the same weight everywhere, and one
    colour bar shows it.  A layer with one input channel (the first layer on
    grey-scale images) is drawn as a near-square grid of its ``F`` filters; a layer
    with ``C > 1`` input channels as ``F`` rows of ``C`` images, or, with
    ``channel=c``, as the grid of its filters' channel ``c``.

    Parameters
    ----------
    filters : array-like of shape (n_filters, n_channels, kh, kw)
        The weights of an ``nn.Conv2d`` (its ``weight``).
    layer : int, default=None
        Which convolution layer they are (for the title).
    estimator_name : str, default=None
        Name used in the title.

    Attributes
    ----------
    images_ : ndarray of matplotlib AxesImage
        The images, shaped as ``axes_`` (None where an axis is unused).
    axes_ : ndarray of matplotlib Axes of shape (n_rows, n_cols)
        One axis per image of the grid (unused ones are switched off).
    colorbar_ : matplotlib Colorbar or None
        The shared colour bar.
    figure_ : matplotlib Figure
        The figure holding the grid.

    See Also
    --------
    TrainingCurveDisplay : Loss and validation curves of a fit.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sknn_backprop import ConvNetClassifier, FilterDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> cnn = ConvNetClassifier(conv_filters=(8,), kernel_size=3, hidden_layer_sizes=(16,),
    ...                         max_iter=2, random_state=0).fit(X[:300] / 16, y[:300])
    >>> display = FilterDisplay.from_estimator(cnn, layer=0)
    >>> display.axes_.shape, display.images_[0, 0].get_array().shape
    ((3, 3), (3, 3))
    """

    def __init__(self, *, filters, layer=None, estimator_name=None):
        self.filters = filters
        self.layer = layer
        self.estimator_name = estimator_name

    def plot(
        self,
        *,
        channel=None,
        n_cols=None,
        cmap="RdBu_r",
        colorbar=True,
        ax=None,
        im_kw=None,
        figsize=None,
    ):
        """Draw the filters.

        Parameters
        ----------
        channel : int, default=None
            Draw only this input channel of every filter (a grid of ``F``
            images).  ``None`` draws every channel: ``F`` rows of ``C`` images
            (a grid of ``F`` images when ``C == 1``).
        n_cols : int, default=None
            Columns of the grid of ``F`` images; ``None`` makes it near-square.
            Ignored for the ``F x C`` layout.
        cmap : str or matplotlib Colormap, default="RdBu_r"
            A diverging colour map suits the symmetric scale.
        colorbar : bool, default=True
            Whether to add the shared colour bar.
        ax : matplotlib Axes or array-like of Axes, default=None
            ``None`` makes a new figure; one Axes is divided into the grid (it is
            switched off, as scikit-learn's ``PartialDependenceDisplay`` does);
            an array of at least as many Axes as images is used as given.
        im_kw : dict, default=None
            Keyword arguments for ``imshow``; they override the defaults
            (``cmap``, the symmetric ``vmin``/``vmax``, ``interpolation="nearest"``).
        figsize : (float, float), default=None
            Size of a new figure; ``None`` scales it with the grid.

        Returns
        -------
        display : FilterDisplay
            This object, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")

        w = np.asarray(self.filters, dtype=float)
        if w.ndim != 4:
            raise ValueError(
                f"filters must have shape (n_filters, n_channels, kh, kw), got {w.shape}."
            )
        images, titles, n_rows, n_cols, n_channels = _filter_grid(w, channel, n_cols)
        fig, axes = _axes_grid(ax, n_rows, n_cols, len(images), figsize)

        limit = float(np.abs(w).max()) or 1.0
        style = _style(
            {"cmap": cmap, "vmin": -limit, "vmax": limit, "interpolation": "nearest"}, im_kw
        )
        self.images_ = np.full(axes.shape, None, dtype=object)
        for i, a in enumerate(axes.ravel()):
            a.set_xticks([])
            a.set_yticks([])
            if i >= len(images):
                a.set_axis_off()
                continue
            self.images_.flat[i] = a.imshow(images[i], **style)
            a.set_title(titles[i], fontsize=7, pad=2)
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = fig.colorbar(
                self.images_.flat[0], ax=list(axes.ravel()), shrink=0.9, label="weight"
            )
        what = "filters" if n_channels == 1 else "filters (filter/channel)"
        title = f"convolution layer {self.layer}: {what}" if self.layer is not None else what
        if self.estimator_name:
            title = f"{self.estimator_name}, {title}"
        fig.suptitle(title, fontsize=9)
        self.axes_ = axes
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        layer=0,
        member=0,
        channel=None,
        n_cols=None,
        cmap="RdBu_r",
        colorbar=True,
        ax=None,
        im_kw=None,
        figsize=None,
    ):
        """Plot the filters of a fitted network's convolution layer.

        Parameters
        ----------
        estimator : ConvNetClassifier or Pipeline
            A fitted network with ``nn.Conv2d`` modules in ``model_``, or a fitted
            ``Pipeline`` ending in one.
        layer : int, default=0
            Which convolution layer, counted among the ``nn.Conv2d`` modules of
            ``model_`` (0 is the first; negative counts from the last).
        member : int, default=0
            For a bagged network (``n_estimators > 1``), whose filters to draw
            (``estimators_[member]``).
        channel, n_cols, cmap, colorbar, ax, im_kw, figsize
            As in :meth:`plot`.

        Returns
        -------
        display : FilterDisplay
            The display, drawn.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If the network has no such convolution layer.
        """
        from . import nn

        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        net = _final_step(estimator)
        check_is_fitted(estimator)
        name = type(net).__name__
        if "model_" not in net.__dict__ and getattr(net, "estimators_", None):
            net = net.estimators_[member]
        model = getattr(net, "model_", None)
        if model is None:
            raise NotFittedError(f"{name} has no fitted network (model_).")
        convs = model.find_modules(nn.Conv2d)
        if not convs:
            raise ValueError(f"{name}'s network has no nn.Conv2d layer.")
        if not -len(convs) <= layer < len(convs):
            raise ValueError(
                f"layer={layer} is out of range: the network has {len(convs)} convolution layer(s)."
            )
        display = cls(
            filters=np.array(convs[layer].weight),
            layer=layer % len(convs),
            estimator_name=name,
        )
        return display.plot(
            channel=channel,
            n_cols=n_cols,
            cmap=cmap,
            colorbar=colorbar,
            ax=ax,
            im_kw=im_kw,
            figsize=figsize,
        )


def _plot_members(ax, member_curves, member_kw):
    """Thin lines for the members' training losses of a bagged model."""
    lines = []
    for i, curve in enumerate(member_curves or []):
        curve = np.asarray(curve, dtype=float)
        style = _style(
            {"color": "tab:blue", "linewidth": 0.7, "alpha": 0.35, "zorder": 1}, member_kw
        )
        if i == 0:
            style.setdefault("label", "members' training loss")
        (line,) = ax.plot(np.arange(1, len(curve) + 1), curve, **style)
        lines.append(line)
    return lines


def _decorate(ax, score_ax, name, log_scale, legend):
    """Axis labels, title, log scale and one legend for both axes."""
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if name is not None:
        ax.set_title(name)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        if score_ax is not None:
            more_handles, more_labels = score_ax.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        (score_ax or ax).legend(handles, labels, loc="best")


def _filter_grid(w, channel, n_cols):
    """``(images, titles, n_rows, n_cols, n_channels)`` for filters ``w`` ``(F, C, kh, kw)``."""
    n_filters, n_channels = w.shape[:2]
    if channel is not None:
        if not -n_channels <= channel < n_channels:
            raise ValueError(f"channel={channel} is out of range for {n_channels} channels.")
        w = w[:, [channel]]
        n_channels = 1
    if n_channels == 1:
        n_cols = n_cols or int(np.ceil(np.sqrt(n_filters)))
        titles = [f"{f}" for f in range(n_filters)]
        return list(w[:, 0]), titles, int(np.ceil(n_filters / n_cols)), n_cols, 1
    images = [w[f, c] for f in range(n_filters) for c in range(n_channels)]
    titles = [f"{f}/{c}" for f in range(n_filters) for c in range(n_channels)]
    return images, titles, n_filters, n_channels, n_channels


def _axes_grid(ax, n_rows, n_cols, n_images, figsize):
    """``(figure, 2-D array of Axes)``: new, one Axes divided into the grid, or the user's."""
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpecFromSubplotSpec

    if ax is None:
        size = figsize or (1.0 + 0.9 * n_cols, 0.4 + 0.9 * n_rows)
        fig, axes = plt.subplots(n_rows, n_cols, figsize=size, squeeze=False)
        return fig, np.asarray(axes, dtype=object)
    if hasattr(ax, "get_subplotspec"):  # one Axes: divide it into the grid
        fig = ax.figure
        ax.set_axis_off()
        spec = GridSpecFromSubplotSpec(n_rows, n_cols, subplot_spec=ax.get_subplotspec())
        axes = [[fig.add_subplot(spec[r, c]) for c in range(n_cols)] for r in range(n_rows)]
        return fig, np.asarray(axes, dtype=object)
    flat = np.asarray(ax, dtype=object).ravel()
    if len(flat) < n_images:
        raise ValueError(f"Expected at least {n_images} axes, got {len(flat)}.")
    axes = np.asarray(ax, dtype=object) if np.ndim(ax) == 2 else flat.reshape(1, -1)
    return flat[0].figure, axes
