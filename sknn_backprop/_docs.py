"""Docstring fragments shared by the estimators, written once.

Each estimator's docstring is its own text with these blocks concatenated in.
"""

from string import Template

_SOLVER = Template("""\
    solver : {'lbfgs', 'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta'}, \
default='adam'
        The solver for weight optimization: 'lbfgs' (quasi-Newton, through
        ``scipy.optimize.minimize``; good for small data sets), 'sgd'
        (stochastic gradient descent with momentum), 'adam' (Kingma & Ba),
        'adamw' (Adam with decoupled weight decay, Loshchilov & Hutter: see
        ``alpha``), 'rmsprop' (Tieleman & Hinton), 'adagrad' (Duchi et al.) or
        'adadelta' (Zeiler; its step is ``learning_rate_init`` times the
        paper's, which has none: use ``learning_rate_init=1.0``, and the paper's
        ``epsilon=1e-6``).  All but 'lbfgs' are stochastic (minibatches,
        ``partial_fit``, early stopping).

    alpha : float, default=0.0001
        Strength of the weight penalty (L2 by default, see ``l1_ratio``). The
        penalty is divided by the sample size (the sum of sample weights) when
        added to the loss. Biases (and batch-norm scales and shifts) are never
        penalised.  With 'adamw' the L2 share ``alpha * (1 - l1_ratio)`` is
        instead the decoupled weight decay ``w <- (1 - lr * decay) w`` of every
        step (PyTorch's ``weight_decay``, not divided by the sample size), and
        ``loss_`` has no L2 term; an L1 share stays in the loss.

    batch_size : int, default=$batch_size
        Size of minibatches for stochastic optimizers. When set to "auto",
        ``batch_size=min(200, n_samples)``. Not used by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates: 'constant' keeps
        ``learning_rate_init``; 'invscaling' uses
        ``learning_rate_init / pow(t, power_t)``; 'adaptive' divides the rate by 5
        each time two consecutive epochs fail to improve by ``tol``. Used by 'sgd',
        and by the adaptive solvers ('adam', 'adamw', 'rmsprop', 'adagrad',
        'adadelta') when ``schedule_adam=True``.

    learning_rate_init : float, default=$learning_rate_init
        The initial learning rate (every solver but 'lbfgs').

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate.

    max_iter : int, default=$max_iter
        Maximum number of iterations: epochs for the stochastic solvers, iterations
        for 'lbfgs'.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration (not 'lbfgs').

    random_state : int, RandomState instance, default=None
        Determines random number generation for weights and bias
        initialization, train-test split if early stopping is used, batch
        sampling, dropout and noise masks, and bagging resamples. Pass an int
        for reproducible results across multiple function calls.

    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving
        by at least ``tol`` for ``n_iter_no_change`` consecutive iterations,
        unless ``learning_rate`` is 'adaptive', training stops.

    verbose : bool, default=False
        Whether to print progress messages (the loss of every epoch) to stdout.

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as
        initialization (with bagging: keep the fitted members, train them further
        and add new ones if ``n_estimators`` grew).

    momentum : float, default=0.9
        Momentum for gradient descent update, in [0, 1]. Only used when solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum ('sgd' with ``momentum > 0``).

    early_stopping : bool, default=False
        Whether to stop training when the validation score (or loss, see
        ``early_stopping_metric``) stops improving by ``tol`` for
        ``n_iter_no_change`` epochs. The validation set is ``validation_fraction``
        of the training data (stratified for single-output classification), or
        ``X_val, y_val`` passed to ``fit``, or -- for bagging members -- their
        out-of-bag rows. The weights that scored best are restored at the end,
        also when ``max_iter`` is reached. Not for 'lbfgs'.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for
        early stopping, in [0, 1).

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam
        and adamw.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam
        and adamw.

    epsilon : float, default=1e-8
        Value for numerical stability in adam, adamw, rmsprop, adagrad and
        adadelta (the last inside its square roots, where it also sets the size
        of the first steps).

    rho : float, default=0.9
        Decay of the running average of the squared gradients in 'rmsprop' and
        'adadelta' (and of the squared updates in 'adadelta'), in [0, 1).

    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet ``tol`` improvement (not 'lbfgs').

    max_fun : int, default=15000
        Only used when solver='lbfgs'. Maximum number of loss function calls.
""")


def solver_doc(batch_size="'auto'", learning_rate_init=0.001, max_iter=200):
    """The solver parameters' text, with an estimator's own defaults of the three
    training parameters whose defaults differ between the presets."""
    return _SOLVER.substitute(
        batch_size=batch_size, learning_rate_init=learning_rate_init, max_iter=max_iter
    )


#: the solver parameters with scikit-learn's MLP defaults
SOLVER = solver_doc()

#: the solver parameters with the ConvNets' defaults (fast on small images)
CONVNET_SOLVER = solver_doc(batch_size=32, learning_rate_init=0.003, max_iter=20)

CONVNET = """\
    conv_filters : int or array-like of int, default=(16, 32)
        Number of filters of each convolution block (one block per value); each
        block is ``Conv2d -> activation -> MaxPool2d``.  ``()`` means no
        convolution (an MLP on the image).

    kernel_size : int, default=3
        Height and width of the square convolution kernels.  On an axis that is
        smaller than the kernel (a tiny image, or the single row of a 1-D signal,
        which gets ``(1, kernel_size)`` kernels) the kernel is capped to the size
        of that axis; ``fit`` warns (``UserWarning``) naming every block whose
        kernel or pooling shrank, except along a 1-D signal's single row.

    pool_size : int, default=2
        Height and width of the non-overlapping max-pooling windows (``1``: no
        pooling).  Capped to the feature-map size like the kernel; a block whose
        pooling window is ``1x1`` has no ``MaxPool2d``.

    padding : {'same', 'valid'}, default='same'
        'same' pads each side with ``(k - 1) // 2`` zeros, so the convolution keeps
        the size of the image for odd kernels (it shrinks by one for even ones);
        'valid' does not pad (``H - k + 1``).

    hidden_layer_sizes : array-like of int, default=(200,)
        Sizes of the dense hidden layers after the convolution blocks.
        ``dropout`` applies to these layers.

    input_shape : tuple of int, default=None
        Shape of one sample, ``(H, W)`` (one channel) or ``(C, H, W)``, its values
        laid out in C order in the rows of a 2-D ``X``.  ``None``: taken from a
        3-D ``(n, H, W)`` or 4-D ``(n, C, H, W)`` ``X``; for a 2-D ``X`` a square
        one-channel image when ``n_features`` is a perfect square, else a 1-D
        signal of ``n_features`` values (``C = H = 1``), which ``fit`` says with a
        ``UserWarning``: pass ``input_shape`` to read such rows as images.

    augment_shift : int, default=0
        Data augmentation: each training image is translated by up to this many
        pixels along each axis (a new random shift for every image of every
        batch, zero-filled; see :class:`~sknn_backprop.nn.RandomShift`).  Predictions and
        validation scores see the images unchanged.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'abs'}, \
default='relu'
        Activation of the convolution blocks and of the dense hidden layers.

"""

CONVNET_NOTES = """\
    ``X`` may be 2-D ``(n_samples, n_features)``, 3-D ``(n_samples, H, W)`` or
    4-D ``(n_samples, C, H, W)`` (dense or, for 2-D, sparse); fit, predict and
    score accept the same layouts.  ``n_features_in_`` counts the values of one
    sample, ``C * H * W``.

    ``coefs_`` and ``intercepts_`` (and ``n_layers_``) describe the dense
    ``Linear`` layers only; the convolution filters are the ``weight``
    (``(F, C, kh, kw)``) and ``bias`` of the ``nn.Conv2d`` modules of ``model_``.
    Both are penalised by ``alpha``, ``l1_ratio`` and ``max_norm`` the same way
    (a filter's incoming weights are one unit's).

    Prediction runs in chunks of rows sized for the widest activation
    (convolution outputs included), so memory stays bounded for any ``n_samples``.
"""

CLASS_WEIGHT = """\
    class_weight : dict, 'balanced' or None, default=None
        Weights associated with classes, multiplied into ``sample_weight``;
        'balanced' uses ``n_samples / (n_classes * np.bincount(y))``, with the
        counts weighted by ``sample_weight`` when it is given (as
        ``LogisticRegression``: a row of weight 2 counts as two rows).  With
        bagging the weights are computed once, on the full data.
"""

CLASSIFIER = (
    """\
    loss : {'log_loss', 'squared_error'}, default='log_loss'
        'log_loss' is cross-entropy on softmax (multiclass) or sigmoid (binary,
        multilabel) outputs, as scikit-learn's. 'squared_error' is the lecture's
        ``1/2 ||y - sigma(z)||^2`` on one sigmoid output per class (the
        saturating loss of its "squared loss vs cross entropy" comparison);
        ``predict_proba`` then normalises the outputs of each row to sum to one.

"""
    + CLASS_WEIGHT
)

DROPOUT = """\
    dropout : float or array-like of float, default=0.0
        Dropout rate after each hidden layer (one value for all, or one per hidden
        layer), in [0, 1). Inverted dropout: active while training only; every
        prediction and validation score runs the full network in eval mode.

    input_dropout : float, default=0.0
        Dropout rate on the input features, in [0, 1).

"""

PENALTIES = """\
    l1_ratio : float, default=0.0
        Elastic-net mixing of the weight penalty: ``alpha * (l1_ratio * |W|_1 +
        (1 - l1_ratio) / 2 * ||W||^2)``. ``0`` is scikit-learn's L2 penalty.

    max_norm : float, default=None
        Hard constraint on the L2 norm of each unit's incoming weight vector,
        applied after every update (Srivastava et al., 2014).

    clip_grad_norm : float, default=None
        Rescale each minibatch gradient so its global L2 norm is at most this value.

    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs while training.

    adversarial_eps : float, default=0.0
        FGSM adversarial training (Goodfellow et al.): each batch is also trained
        on ``x + adversarial_eps * sign(grad_x L)`` and the two losses averaged.
        ``0`` disables it.

    activity_l1 : float, default=0.0
        L1 penalty on the hidden activations, the lecture's "enforce sparsity"
        (Torch7's ``nn.L1Penalty``, :class:`~sknn_backprop.nn.L1Penalty`): adds
        ``activity_l1 * sum_j |a_j|``, averaged over the samples of a batch, for
        each penalised layer's activations ``a`` to the loss (and to
        ``loss_curve_``), pushing most units of each sample to zero.  ``MLP*``
        and ``ConvNet*`` penalise every hidden activation (convolution blocks
        included); ``NeuralNet*`` every ``Sigmoid``, ``Tanh``, ``ReLU``,
        ``LeakyReLU``, ``PReLU`` or ``Abs`` of the module except its last
        layer (a module without one is refused); :class:`MLPAutoencoder` the
        code layer only.  ``0`` adds no module: the network is unchanged.

"""

WEIGHT_INIT = """\
    weight_init : {'glorot_uniform', 'he_normal', 'lecun_uniform'}, default='glorot_uniform'
        Weight initialisation. 'glorot_uniform' is scikit-learn's (weights and
        biases uniform in ``±sqrt(6 / (fan_in + fan_out))``, factor 2 for
        'logistic'); 'he_normal' (``N(0, 2 / fan_in)``, for ReLU) and
        'lecun_uniform' (the lecture's ``U[-1/sqrt(n), 1/sqrt(n)]``) start
        biases at zero.

"""

EARLY_STOPPING_METRIC = """\
    early_stopping_metric : {'score', 'loss'}, default='score'
        The quantity early stopping monitors: the validation score (as
        scikit-learn) or the validation loss.

"""

#: the training controls apart from ``early_stopping_metric``
TRAINING_CONTROLS = """\
    schedule_adam : bool, default=False
        Apply ``learning_rate`` ('invscaling', 'adaptive') to the step size of
        the adaptive solvers too ('adam', 'adamw', 'rmsprop', 'adagrad',
        'adadelta'; scikit-learn keeps Adam's constant).

    controls : list of :class:`~sknn_backprop.training.Control`, default=None
        Extra training controls, called by the training loop after the built-in
        ones (early stopping, clipping, max-norm, divergence guard) at each of
        its fixed points: after each gradient, after each optimizer step, at
        the end of each epoch.  ``fit`` trains deep copies of them, kept in
        ``controls_``; ``partial_fit`` and warm starts continue with those.
"""

BATCH_NORM = """\
    batch_norm : bool, default=False
        Batch normalisation (Ioffe & Szegedy, 2015) in every hidden layer: a
        ``BatchNorm1d`` after each hidden ``Linear`` (a ``BatchNorm2d`` after
        each ``Conv2d``), before its activation.  Training normalises with the
        batch's statistics, prediction with their running averages.  Its scales
        and shifts are not penalised (``alpha``, ``l1_ratio``, ``max_norm``).
        Keeps deep sigmoid or tanh networks from the vanishing gradient.

"""

CONTROLS = EARLY_STOPPING_METRIC + TRAINING_CONTROLS

#: the regularisers of the estimators that build their network from hyperparameters
REGULARISERS = DROPOUT + BATCH_NORM + PENALTIES + WEIGHT_INIT + CONTROLS

#: the ``loss`` of the regressors that build their network from hyperparameters
REGRESSION_LOSS = """\
    loss : {'squared_error', 'absolute_error', 'huber', 'poisson'}, \
default='squared_error'
        'squared_error' is half the mean squared error (averaged over outputs);
        'absolute_error' the mean absolute error, and 'huber' Huber's loss
        (``huber_delta``): both robust to outlying targets, whose pull on the
        fit they cap.  'poisson' is the half Poisson deviance with a log link
        (exponential output), and requires ``y >= 0``.  The output layer is the
        identity for all but 'poisson'.

"""

HUBER_DELTA = """\
    huber_delta : float, default=1.0
        Threshold of ``loss='huber'``: residuals ``|d| <= huber_delta`` cost
        ``d^2 / 2`` (as 'squared_error'), larger ones ``huber_delta * (|d| -
        huber_delta / 2)`` (linear, as 'absolute_error').  In the units of
        ``y``: scikit-learn's ``HuberRegressor`` puts its threshold at
        ``epsilon`` (default 1.35) times a residual scale ``sigma`` that it
        fits, so ``huber_delta = epsilon * sigma`` matches it (``1.35`` for
        noise of unit standard deviation).  Ignored by the other losses.

"""

#: the regularisers that apply to any network (``NeuralNet*``)
NETWORK_REGULARISERS = PENALTIES + CONTROLS

PRETRAIN = """\
    pretrain : bool, default=False
        Greedy layer-wise unsupervised pre-training (Hinton et al., 2006; Bengio
        et al., 2007; Vincent et al., 2008): before the supervised training of a
        new network, each hidden layer is trained in turn as a one-layer denoising
        :class:`MLPAutoencoder` (same activation, solver, learning rate, batch
        size and ``alpha``) on the codes of the layers below it, computed from
        ``X`` and the ``X_unlabeled`` rows passed to ``fit``; its encoder's
        weights become the layer's starting weights, and the whole stack (with a
        freshly initialised output layer) is then fine-tuned on the labels.  Runs
        when ``fit`` (or the first ``partial_fit``) builds a network, not on warm
        starts; needs a network of ``Linear`` layers each followed by an
        activation (``NeuralNet*`` with other layers is refused).

    pretrain_max_iter : int, default=20
        Epochs (L-BFGS iterations for 'lbfgs') of each layer's autoencoder.  On
        small data sets more help: the sigmoid network of
        ``examples/lecture_pretraining.py`` gains more from 50 than from 20.

    pretrain_noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each autoencoder's
        input while it learns to reconstruct the clean input (the denoising of
        Vincent et al.); ``0`` trains plain autoencoders.  Separate from
        ``input_noise``, which applies to the supervised training.

"""

BAGGING = """\
    n_estimators : int, default=1
        Number of networks in a bagging ensemble (Breiman, 1994). ``1`` trains a
        single network on all the data, exactly as without bagging.

    max_samples : int or float, default=1.0
        Rows drawn for each member: a count, or a fraction of ``n_samples``.

    bootstrap : bool, default=True
        Draw rows with replacement (bootstrap) or without.

    oob_score : bool, default=False
        Score the ensemble on each row with the members that did not see it.

    n_jobs : int, default=None
        Members trained in parallel with joblib (``-1``: all cores). BLAS threads
        are capped per worker so the two levels of parallelism share the cores;
        results are identical for any ``n_jobs``.  Worker processes cost about
        0.2 s per fit once started (the first parallel fit of a session also
        starts them: seconds), so they pay only when a member trains for more
        than a few tenths of a second; for smaller members leave ``n_jobs=None``
        (serial), see ``docs/estimators.rst``.
"""

ATTRIBUTES = """\
    loss_ : float
        The current loss computed with the loss function (penalty included).

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting; ``None`` with
        ``early_stopping=True`` (see ``best_validation_score_``).

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at each iteration.

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score at each iteration on the validation set (``early_stopping=True``).

    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        The loss at each iteration on the validation set (``early_stopping=True``).

    best_validation_score_ : float or None
        The validation score of the restored (best) weights.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        Weight matrices, ``coefs_[i]`` of shape (fan_in, fan_out) as in scikit-learn;
        views of the weights of ``model_``'s ``Linear`` layers.

    intercepts_ : list of shape (n_layers - 1,)
        Bias vectors of the same layers.

    model_ : sknn_backprop.nn.Sequential
        The trained network, printed Torch7-style.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers (input and output included).

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    diverged_ : bool
        Whether training stopped because the loss or weights became non-finite
        (the last finite weights were restored and a warning issued).

    controls_ : list of :class:`~sknn_backprop.training.Control`
        The trained copies of ``controls`` (empty without them), with whatever
        state they kept.

    estimators_ : list of estimators
        With ``n_estimators > 1``: the fitted member networks (each a fitted
        estimator of this class with its own ``loss_curve_``). Per-network
        attributes above (``coefs_``, ``model_``, curves) then live on the members.

    estimators_samples_ : list of ndarray
        With ``n_estimators > 1``: the row indices each member was trained on.

    oob_score_ : float
        With ``oob_score=True``: score of the out-of-bag predictions.
"""
