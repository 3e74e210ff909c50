"""The SID language model: backbones, the prompt table, SFT, checkpoints and constrained decoding (method §4, §7)."""
