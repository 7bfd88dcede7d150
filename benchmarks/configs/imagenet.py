"""ImageNet, ResNet-50, 100 epochs in the three phases of the official Co-Mixup ImageNet code
(``comix-imagenet/configs/comix/configs_fast_phase{1,2,3}.yml``, fast-ImageNet style):

- phase 1, epochs 0-15: batch 1024, 128-px crops (min scale 0.08), learning rate linear
  0.5 -> 1.0 (epoch 8) -> 0.125 (epoch 15);
- phase 2, epochs 15-40: batch 448, 224-px crops (min scale 0.087), 0.2 -> 0.02;
- phase 3, epochs 40-100: batch 448, 224-px crops, 0.02 -> 0.002 (65) -> 2e-4 (90) -> 2e-5;

SGD momentum 0.9, weight decay 1e-4 except on batch-norm parameters, the rate interpolated
per iteration. The official run reads pre-resized copies of ImageNet (160 px for phase 1, 352
px after); here the crops come from the original images. Its ResNet-50 also starts each
residual block's last batch-norm at zero and uses apex O1 mixed precision (``--amp`` here).
"""

from benchmarks.configs.base import Phase, TrainConfig

CONFIG = TrainConfig(
    dataset="imagenet",
    model="resnet50",
    epochs=100,
    batch_size=448,
    lr=0.1,
    momentum=0.9,
    weight_decay=1e-4,
    nesterov=False,
    milestones=(),
    bn_weight_decay=False,
    workers=10,
    phases=(
        Phase(0, 1024, 128, 0.08, (0, 8, 15), (0.5, 1.0, 0.125)),
        Phase(15, 448, 224, 0.087, (15, 40), (0.2, 0.02)),
        Phase(40, 448, 224, 0.087, (40, 65, 90, 100), (0.02, 0.002, 0.0002, 0.00002)),
    ),
)
