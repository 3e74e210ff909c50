"""The pipeline's trip, written once: an experiment spec, its stages, one seed, the seed loop and its output layout,
the run store, and the ablation. The command line, the app's jobs and the ablation all call it."""
