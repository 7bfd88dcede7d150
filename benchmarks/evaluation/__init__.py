"""Trained runs evaluated afresh: robustness to background corruption and localisation."""
