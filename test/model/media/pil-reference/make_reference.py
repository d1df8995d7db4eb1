"""Pillow bicubic resizes of a synthetic RGB image, the oracle of test/model/media/resize-bicubic.test.ts.

Run from this folder with Pillow installed (Debian: apt-get install python3-pil):
    /usr/bin/python3 make_reference.py > bicubic.json
The input image is defined by a formula the test re-computes, so only outputs are stored.
"""
import base64
import json
import sys

import PIL
from PIL import Image


def synthetic(width, height):
    data = bytearray()
    for y in range(height):
        for x in range(width):
            for c in range(3):
                v = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 7) % 256
                if (x // 5 + y // 3) % 2 == 0:  # hard edges: ringing and clamping at 0/255
                    v = 255 - v // 4
                data.append(v)
    return Image.frombytes("RGB", (width, height), bytes(data))


CASES = [  # (source w, h, target w, h): shrink, enlarge, one axis only, strong shrink
    (64, 48, 28, 56),
    (37, 23, 56, 28),
    (50, 40, 50, 84),
    (120, 90, 84, 28),
    (300, 200, 56, 56),
]

out = {"pillow": PIL.__version__, "cases": []}
for sw, sh, tw, th in CASES:
    img = synthetic(sw, sh).resize((tw, th), resample=Image.BICUBIC, reducing_gap=None)
    out["cases"].append({"source": [sw, sh], "target": [tw, th], "rgb_base64": base64.b64encode(img.tobytes()).decode()})
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
