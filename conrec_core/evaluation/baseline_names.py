"""The baselines every pipeline runs, by name: apart from their code so configs and the CLI list them without
loading pandas or torch."""

BASELINES = ("most_disliked", "swing_cf", "item_cf", "item_knn", "ease", "fused_baselines", "sasrec_negatives",
             "sasrec_both", "sasrec_prior")
# the untrained baselines fused_baselines fuses by reciprocal rank, as the SID members are fused: ensembles meet
# ensembles
FUSED_BASELINES = ("most_disliked", "swing_cf", "item_cf", "item_knn", "ease")
# the baselines that sum item neighbours over a user's history (evaluation/baseline_settings.py::NeighbourConfig)
NEIGHBOUR_BASELINES = ("item_cf", "item_knn", "swing_cf")
# every kind of event item_knn reads
ALL_KINDS = ("negative", "positive", "neutral")
# name -> reads positives too; sasrec_prior is SASRec on negatives ranked with the popularity prior, its weight
# chosen on validation as for the SID model (decoding/prior.py): the baseline the full method with its prior must beat
SASREC_VARIANTS = {"sasrec_negatives": False, "sasrec_both": True, "sasrec_prior": False}
