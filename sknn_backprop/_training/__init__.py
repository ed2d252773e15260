"""The training core shared by every estimator.

One file per concern, each small enough to read in one sitting:

- :mod:`.loop` -- epochs, minibatches and the single training step (every solver but L-BFGS);
- :mod:`.objective` -- loss, L1/L2 penalties, sample and class weights, adversarial examples;
- :mod:`.lbfgs` -- scipy's L-BFGS-B on the same objective;
- :mod:`.controls` -- small objects the loop calls at fixed points: early stopping,
  gradient clipping, max-norm and the divergence guard;
- :mod:`.validation` -- the validation split and the validation metrics;
- :mod:`.solvers` -- solver name -> ``nn`` optimizer;
- :mod:`.rollback` -- a failed ``fit`` / ``partial_fit`` leaves the model as it was.

``docs/architecture.rst`` walks through one training step in order.
"""
