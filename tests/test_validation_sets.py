"""A trained checkpoint scored on a validation set of another size, as experiments/validation_sets.py does."""

import pytest

from experiments.validation_sets import checkpoint_hits, copy_with_anchors, require_same_training
from conrec_core.data.importer import rebuild_samples
from conrec_core.data.samples import read_samples
from conrec_core.data.samples_config import SampleConfig
from conrec_core.decoding.predict import load_run


def test_a_checkpoint_decodes_the_validation_samples_of_a_rebuilt_copy(tiny_checkpoint, tmp_path):
    workspace, result = tiny_checkpoint
    copy = copy_with_anchors(workspace, tmp_path, 1)
    require_same_training(workspace, copy)  # only validation changed
    one_each = read_samples(copy, "validation")
    assert one_each.user_id.is_unique and len(one_each) < len(read_samples(workspace, "validation"))
    run = load_run(workspace, result.folder.name, "validation", samples_from=copy)
    assert [s.sample_id for s in run.samples] == list(one_each.sample_id)
    hits = checkpoint_hits(workspace, copy, result.folder.name, 20)
    assert len(hits) == len(one_each) and hits.fhr.between(0, 1).all()


def test_a_copy_with_other_training_samples_is_refused(tiny_checkpoint, tmp_path):
    workspace, _ = tiny_checkpoint
    copy = copy_with_anchors(workspace, tmp_path, 1)
    rebuild_samples(copy, SampleConfig(validation_quantile=0.6))
    with pytest.raises(SystemExit, match="train samples differ"):
        require_same_training(workspace, copy)
