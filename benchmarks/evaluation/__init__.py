"""Trained runs evaluated afresh: robustness to background corruption and localisation (which
runs: ``selection``; the evaluation: ``robustness``, on ``localization``; the reports:
``reports``)."""
