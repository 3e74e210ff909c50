"""Items as hierarchical semantic IDs: the item encoder, the RQ-VAE codebook and the SID table (method §3)."""
