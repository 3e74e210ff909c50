"""Loading checkpoints: safetensors only, the codebook must match, and 4-bit agrees with full precision."""

import json
import shutil

import pytest
import torch

from conrec_core.lm.backbones import guard_4bit
from conrec_core.semantic_ids.store import CodebookMismatch, load_codebook
from conrec_core.errors import ConrecError
from conrec_core.lm.checkpoints import list_checkpoints, load_checkpoint


def logits(backbone, text: str) -> torch.Tensor:
    encoded = backbone.tokenizer([text], return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        return backbone.model(**encoded).logits[0].float()


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))


def test_pickled_weights_are_refused(tiny_checkpoint, tmp_path):
    _, result = tiny_checkpoint
    copy = tmp_path / "copy"
    shutil.copytree(result.folder, copy)
    (copy / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(ConrecError, match="pickled weights"):
        load_checkpoint(copy)


PLANTED_CODE = "import pathlib; pathlib.Path(r'{marker}').write_text('ran')\n"


@pytest.mark.parametrize("plant", ["python file", "auto_map in tokenizer_config.json", "auto_map in config.json"])
def test_a_checkpoint_folder_holding_code_is_refused_before_anything_runs(tiny_checkpoint, tmp_path, plant):
    _, result = tiny_checkpoint
    copy = tmp_path / "copy"
    shutil.copytree(result.folder, copy)
    marker = tmp_path / "ran.txt"
    (copy / "evil_tokenizer.py").write_text(PLANTED_CODE.format(marker=marker))
    if plant != "python file":  # the auto_map alone must be refused, even with the code file gone
        (copy / "evil_tokenizer.py").unlink()
        name = "tokenizer_config.json" if "tokenizer" in plant else "config.json"
        data = json.loads((copy / name).read_text())
        data["auto_map"] = {"AutoTokenizer": ["evil_tokenizer.EvilTokenizer", None],
                            "AutoModelForCausalLM": "evil_tokenizer.EvilModel"}
        (copy / name).write_text(json.dumps(data))
    with pytest.raises(ConrecError, match="Python files|auto_map"):
        load_checkpoint(copy)
    assert not marker.exists()


def test_every_load_refuses_remote_code(tiny_checkpoint, monkeypatch):
    import transformers

    _, result = tiny_checkpoint
    seen = []
    for cls in (transformers.AutoModelForCausalLM, transformers.AutoTokenizer):
        original = cls.from_pretrained.__func__

        def spy(klass, *args, _original=original, **kwargs):
            seen.append(kwargs.get("trust_remote_code"))
            return _original(klass, *args, **kwargs)
        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    load_checkpoint(result.folder)
    assert seen and all(flag is False for flag in seen)


def test_a_checkpoint_for_another_codebook_is_refused(tiny_checkpoint):
    workspace, result = tiny_checkpoint
    codebook = load_codebook(workspace)
    codebook.fingerprint = "0" * 64  # as if the codebook had been trained again
    with pytest.raises(CodebookMismatch, match="SIDs would mean other items"):
        load_checkpoint(result.folder, codebook=codebook)


def test_checkpoints_are_listed_with_their_stage_and_fingerprint(tiny_checkpoint):
    workspace, result = tiny_checkpoint
    listed = {c.name: c for c in list_checkpoints(workspace)}
    assert listed["tiny"].stage == "sft" and listed["tiny"].fingerprint == load_codebook(workspace).fingerprint


def test_4bit_load_agrees_with_full_precision_and_survives_a_save(tiny_checkpoint, tmp_path):
    pytest.importorskip("bitsandbytes")
    from conrec_core.decoding.predict import load_run

    workspace, result = tiny_checkpoint
    prompt = load_run(workspace, result.folder.name, "validation").prompts[0]  # a prompt the model was trained on
    full, _ = load_checkpoint(result.folder)
    quantised, _ = load_checkpoint(result.folder, load_in_4bit=True)
    import bitsandbytes as bnb

    layers = [m for m in quantised.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and all(m.support_avx512bf16_for_cpu is False for m in layers)
    assert quantised.memory_bytes() < full.memory_bytes()
    reference = logits(full, prompt)
    before = logits(quantised, prompt)
    assert cosine(before, reference) >= 0.95
    quantised.model.eval()
    quantised.model.save_pretrained(tmp_path / "saved")  # state_dict() after an eval forward
    after = logits(quantised, prompt)
    assert cosine(after, before) > 0.999
    assert cosine(after, reference) >= 0.95
    assert guard_4bit(quantised.model) == len(layers)


def test_a_half_written_metrics_line_is_skipped_and_dropped_on_resume(tiny_checkpoint, tmp_path):
    import shutil

    from conrec_core.lm.checkpoints import METRICS_FILE, keep_metrics, read_metrics

    _, result = tiny_checkpoint
    folder = tmp_path / "copy"
    shutil.copytree(result.folder, folder)
    records = read_metrics(folder)
    with open(folder / METRICS_FILE, "a") as handle:  # a kill in the middle of append_metrics
        handle.write('{"step": 61, "loss": 2.')
    assert read_metrics(folder) == records
    keep_metrics(folder, records[-1]["step"])
    assert (folder / METRICS_FILE).read_text().count("\n") == len(records)
    assert read_metrics(folder) == records


def test_a_save_killed_between_its_renames_is_finished_by_the_next_run_without_doctor(tiny_world):
    import subprocess
    import sys

    from conrec_core.experiment.resume import checkpoint_kept
    from conrec_core.lm.config import BackboneConfig, SFTConfig

    from conftest import TINY_STEPS

    workspace, result = tiny_world
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a PID whose process has ended: the killed saver
    half_saved = result.folder.with_name(f".{result.folder.name}.new-{gone.pid}")
    result.folder.rename(half_saved)  # killed after the first rename, before the second
    settings = {"sft": SFTConfig(steps=TINY_STEPS, eval_every=30, checkpoint_every=30, eval_examples=20,
                                 ranking_samples=20), "backbone": BackboneConfig()}
    assert checkpoint_kept(workspace, result.folder.name, settings)  # the pipeline's rerun keeps it, not step 0
    assert result.folder.is_dir() and not half_saved.exists()
