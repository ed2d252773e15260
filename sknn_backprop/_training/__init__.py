"""The training core shared by every estimator.

One file per concern, each small enough to read in one sitting:

- :mod:`.plan` -- the interface: the :class:`~.plan.TrainingPlan` an estimator hands
  the core, the encoded :class:`~.plan.ValidationSet`;
- :mod:`.loop` -- epochs, minibatches and the single training step (every solver but L-BFGS);
- :mod:`.objective` -- loss, L1/L2 penalties, sample weights, adversarial examples;
- :mod:`.lbfgs` -- scipy's L-BFGS-B on the same objective;
- :mod:`.controls` -- small objects both solvers call at fixed points: early stopping,
  gradient clipping, max-norm and the divergence guard;
- :mod:`.schedules` -- learning-rate schedules, as controls;
- :mod:`.reporting` -- ``verbose`` printing and ``sklearn.callback`` progress, as controls;
- :mod:`.validation` -- the validation split;
- :mod:`.solvers` -- solver name -> ``nn`` optimizer, ``learning_rate`` -> schedule;
- :mod:`.rollback` -- a failed ``fit`` / ``partial_fit`` leaves the model as it was.

The core reads no private attribute of the estimators and imports nothing from
them.  ``docs/architecture.rst`` walks through one training step in order.
"""
