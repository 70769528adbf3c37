"""Operando TOF-SIMS: cycling logs, image series aligned to electrochemistry, per-region tracking, dose."""
