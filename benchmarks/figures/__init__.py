"""Mixes as pictures (the paper's Figures 7-9, and every mixer side by side).

``photos`` (the batch of 24: built-in photos or ImageNet validation images), ``saliency``
(a run's input gradients, or the training-free spectral residual), ``mixes`` (the batch
through every mixer, with each output's share of each input), ``draw`` (the matplotlib
figures) and ``make`` (``comixup-bench figures``: files and MLflow).
"""
