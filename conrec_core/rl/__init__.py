"""Progressive GRPO: Swing on the negative graph, the reward functions and the policy loop (method §4-6)."""
