"""The SID model's constrained search, its predictions, and every post-process that turns scores into ranked lists
(member ensembles, long-tail quotas and calibration, the popularity prior)."""
