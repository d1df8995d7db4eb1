"""Reference logits from Hugging Face transformers for the tiny parity models (models.ts).

Run where PyTorch and transformers are installed:
    python3 make_reference.py MODELS_DIR OUT_DIR
MODELS_DIR holds the folders writeParityModels() wrote, tokens.json and (optionally) a
tiny-qwen2-vl folder named `qwen2-vl`. Writes OUT_DIR/reference.json with, per model, the
logits of the last 4 positions (fp32, eager attention) and the transformers version.
"""
import json
import math
import os
import sys
import types

import torch
import transformers
from transformers import AutoModelForCausalLM

root, out = sys.argv[1], sys.argv[2]
tokens = json.load(open(os.path.join(root, "tokens.json")))
ref = {}


def rows(t):
    return [[round(float(x), 6) for x in r] for r in t]


for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if not os.path.isdir(d) or name == "qwen2-vl":
        continue
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        logits = m(torch.tensor([tokens])).logits[0]
    ref[name] = {"logits": rows(logits[-4:]), "transformers": transformers.__version__}
    print(name, "ok", logits.shape)

json.dump(ref, open(os.path.join(out, "reference.json"), "w"))
vl = os.path.join(root, "qwen2-vl")
if os.path.isdir(vl):
    from safetensors.torch import load_file
    from transformers import Qwen2VLConfig
    from transformers.models.qwen2_vl import modeling_qwen2_vl as mq

    cfg = Qwen2VLConfig.from_pretrained(vl)
    text_cfg = getattr(cfg, "text_config", cfg)
    text_cfg._attn_implementation = "eager"
    tm = mq.Qwen2VLTextModel(text_cfg).eval()
    sd = load_file(os.path.join(vl, "model.safetensors"))
    tm.load_state_dict({k[len("model."):]: v for k, v in sd.items() if k.startswith("model.")}, strict=True)
    H = text_cfg.hidden_size
    pre, post = [5, 99, 17], [64, 128, 7]
    n_img = 6  # llm grid 2 x 3 (image grid 1 x 4 x 6 with spatial merge 2)
    img = torch.tensor([[math.sin(0.1 * (i * H + j) + 1) * 0.5 for j in range(H)] for i in range(n_img)], dtype=torch.float32)
    IMG, VSTART = 299, 17
    ids = torch.tensor([pre + [IMG] * n_img + post])
    fake = types.SimpleNamespace(config=types.SimpleNamespace(
        vision_config=types.SimpleNamespace(spatial_merge_size=2), image_token_id=IMG, video_token_id=298, vision_start_token_id=VSTART))
    for helper in ("get_vision_position_ids",):
        if hasattr(mq.Qwen2VLModel, helper):
            setattr(fake, helper, types.MethodType(getattr(mq.Qwen2VLModel, helper), fake))
    # mm_token_type_ids (transformers >= 5): 0 text, 1 image, 2 video per position.
    pos, _ = mq.Qwen2VLModel.get_rope_index(
        fake, ids, mm_token_type_ids=(ids == IMG).long(), image_grid_thw=torch.tensor([[1, 4, 6]]), attention_mask=torch.ones_like(ids))
    with torch.no_grad():
        emb = tm.embed_tokens(ids)
        emb[0, len(pre):len(pre) + n_img] = img
        hidden = tm(inputs_embeds=emb, position_ids=pos).last_hidden_state[0]
        logits = hidden @ tm.embed_tokens.weight.T
    ref["qwen2-vl"] = {"logits": rows(logits[-4:]), "positions": pos[:, 0].tolist(), "transformers": transformers.__version__}
    print("qwen2-vl ok", pos[:, 0].tolist())

json.dump(ref, open(os.path.join(out, "reference.json"), "w"))
