"""fastoptim's demo: the optimizers of the Adam paper's experiments, on scikit-learn's digits.

    pip install "fastoptim[demo]"      # scikit-learn and matplotlib
    python -m fastoptim.demo [--out DIR] [--epochs N] [--quick]

Trains multinomial logistic regression and a small MLP, written in NumPy (forward and
backward by hand, mini-batches, a fixed seed), with every optimizer of
:data:`~fastoptim.demo.optimizers.SPECS` at the best learning rate of a small search; prints a
table per model and writes PNG figures: training loss and test accuracy per epoch, Adam's
bias-correction ablation, and the optimizers' paths on the Rosenbrock function.

Your own data: any arrays ``X`` (n_samples × n_features) and labels ``y``::

    from fastoptim.demo import make_dataset, run
    run(make_dataset(X, y, name="mine"), out="demo-out")   # see fastoptim.demo.data

Modules: ``data`` (data sets), ``models`` (the NumPy models), ``optimizers`` (the table of
optimizers), ``train`` (training, lr search, ablation, trajectories), ``plots``, ``cli``.
Only this subpackage needs scikit-learn (for the digits) and matplotlib.
"""

from .cli import DEFAULT, QUICK, TASKS, Settings, Task, main, run
from .data import Dataset, load_digits, make_dataset
from .models import MLP, LogisticRegression
from .optimizers import SPECS, OptimizerSpec

__all__ = [
           "DEFAULT",
           "MLP",
           "QUICK",
           "SPECS",
           "TASKS",
           "Dataset",
           "LogisticRegression",
           "OptimizerSpec",
           "Settings",
           "Task",
           "load_digits",
           "main",
           "make_dataset",
           "run",
]
