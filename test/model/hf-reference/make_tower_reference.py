"""Reference tower outputs from Hugging Face transformers for the tiny tower parity models.

Run where PyTorch and transformers are installed:
    npx tsx test/model/hf-reference/tower-models.ts MODELS_DIR
    python3 make_tower_reference.py MODELS_DIR OUT_DIR
Each MODELS_DIR/<name> holds a random init-model folder, inputs.safetensors (pixel_values
[n][1176] and, for Omni, mel [128][frames]) and tower_inputs.json (grids, audio frames).
Writes OUT_DIR/tower_reference.json: per model, the merged vision tokens and (Omni) the audio
tokens, computed in fp32 with eager attention by transformers' own tower modules.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file

root, out = sys.argv[1], sys.argv[2]
ref = {}


def rows(t):
    return [[round(float(x), 6) for x in r] for r in t]


def tower(cls, cfg, sd, prefixes):
    cfg._attn_implementation = "eager"
    if hasattr(cfg, "in_channels") and not hasattr(cfg, "in_chans"):
        cfg.in_chans = cfg.in_channels
    m = cls(cfg).float().eval()
    for p in prefixes:
        part = {k[len(p):]: v.float() for k, v in sd.items() if k.startswith(p)}
        if part:
            # Non-persistent buffers (rotary inv_freq, audio sinusoids) are not in the checkpoint.
            missing, unexpected = m.load_state_dict(part, strict=False)
            assert not unexpected, unexpected
            assert all("inv_freq" in k or "positional_embedding" in k for k in missing), missing
            return m
    raise SystemExit(f"no tensors under {prefixes}")


def merged(output):
    # transformers < 4.55 returns the merged tokens; newer versions return an output object.
    return output.pooler_output if hasattr(output, "pooler_output") else output


for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if not os.path.isfile(os.path.join(d, "tower_inputs.json")):
        continue
    info = json.load(open(os.path.join(d, "tower_inputs.json")))
    inputs = load_file(os.path.join(d, "inputs.safetensors"))
    sd = load_file(os.path.join(d, "model.safetensors"))
    cfg = json.load(open(os.path.join(d, "config.json")))
    grid = torch.tensor(info["grids"])
    entry = {"transformers": transformers.__version__}
    with torch.no_grad():
        if cfg["model_type"] == "qwen2_vl":
            from transformers import Qwen2VLConfig
            from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VisionTransformerPretrainedModel as V
            v = tower(V, Qwen2VLConfig.from_pretrained(d).vision_config, sd, ["visual.", "model.visual."])
        elif cfg["model_type"] == "qwen2_5_vl":
            from transformers import Qwen2_5_VLConfig
            from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel as V
            v = tower(V, Qwen2_5_VLConfig.from_pretrained(d).vision_config, sd, ["visual.", "model.visual."])
        else:
            from transformers import Qwen2_5OmniConfig
            from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as mo
            thinker = Qwen2_5OmniConfig.from_pretrained(d).thinker_config
            v = tower(mo.Qwen2_5OmniVisionEncoder, thinker.vision_config, sd, ["thinker.visual."])
            a = tower(mo.Qwen2_5OmniAudioEncoder, thinker.audio_config, sd, ["thinker.audio_tower."])
            valid = info["audio"]["valid"]
            mel = inputs["mel"][:, :valid]
            au = a(mel, feature_lens=torch.tensor([valid]), aftercnn_lens=torch.tensor([(valid - 1) // 2 + 1]))
            au = au.last_hidden_state if hasattr(au, "last_hidden_state") else au
            entry["audio"] = rows(au)
        entry["vision"] = rows(merged(v(inputs["pixel_values"], grid_thw=grid)))
    ref[name] = entry
    print(name, "ok", len(entry["vision"]), "vision tokens", len(entry.get("audio", [])), "audio tokens")

json.dump(ref, open(os.path.join(out, "tower_reference.json"), "w"))
