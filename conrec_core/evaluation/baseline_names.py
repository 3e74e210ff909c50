"""The baselines every pipeline runs, by name: apart from their code so configs and the CLI list them without
loading pandas or torch."""

BASELINES = ("most_disliked", "swing_cf", "item_cf", "ease", "sasrec_negatives", "sasrec_both", "sasrec_prior")
# name -> reads positives too; sasrec_prior is SASRec on negatives ranked with the popularity prior, its weight
# chosen on validation as for the SID model (decoding/prior.py): the baseline the full method with its prior must beat
SASREC_VARIANTS = {"sasrec_negatives": False, "sasrec_both": True, "sasrec_prior": False}
