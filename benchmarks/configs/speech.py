"""Google Speech Commands (v0.01, 30 words), LeNet / VGG-11: the Co-Mixup supplement's speech
experiment, which follows the mixup paper's (Zhang et al., ICLR 2018, sec. 3.4).

Protocol:

- 30 epochs, minibatches of 100, Adam: the mixup paper ("We train each model for 30 epochs with
  minibatches of 100 examples, using Adam as the optimizer");
- learning rate 0.001, constant, no weight decay: Adam's defaults, the ``--lr 0.001
  --optimizer adam`` defaults of GCommandsPytorch's ``run.py`` (the code whose LeNet / VGG the
  paper trains), which has no schedule and no weight decay; the papers give no other value;
- early stopping: training stops when the validation accuracy has not improved for 5
  consecutive epochs (the Co-Mixup supplement; GCommandsPytorch's ``--patience 5``, there on the
  validation loss), and the reported number is the test error at the epoch of the best
  validation accuracy (logged as ``test_top1_error_at_best_val``);
- the methods' own settings are their CIFAR-100 defaults (``benchmarks.methods``): no official
  speech value exists for most of them.

``speech-builtin`` is the offline spoken-words set with the same protocol scaled to two CPU
cores (not a paper experiment): minibatches of 10 (its train split has 280 utterances: 28
steps per epoch; Co-Mixup then solves one partition of 10 per step), at most 10 epochs, and
narrow models (``width`` 16: LeNet's
convs 16 channels instead of 20, VGG-11's stages 16-128 instead of 64-512), so that the 12 runs
of ``comixup-bench table5 --dataset speech-builtin`` take minutes.

The runner's ``TrainConfig`` has SGD only; :class:`SpeechTrainConfig` adds the optimizer choice
(``runner.optim.build_optimizer`` reads it). It is not a ``--set`` key (``apply_overrides``
knows the base fields only).
"""

from dataclasses import dataclass

from benchmarks.configs.base import TrainConfig


@dataclass(frozen=True)
class SpeechTrainConfig(TrainConfig):
    optimizer: str = "adam"
    """``adam`` (the mixup paper's speech runs) or ``sgd`` (the base config's SGD)."""

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}.")


CONFIG = SpeechTrainConfig(
    dataset="speechcommands",
    model="lenet",
    epochs=30,
    batch_size=100,
    lr=0.001,
    weight_decay=0.0,
    milestones=(),
    patience=5,
)

BUILTIN_CONFIG = SpeechTrainConfig(
    dataset="speech-builtin",
    model="lenet",
    epochs=10,
    batch_size=10,
    lr=0.001,
    weight_decay=0.0,
    milestones=(),
    patience=5,
    width=16,
)
