"""Baseline mixup methods (Input Mixup, Manifold Mixup, CutMix, Puzzle Mix, VAT).

One file per method behind the Method protocol of ``comixup.method``; added with the Method
interface issue.
"""
