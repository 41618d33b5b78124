"""LPIPS as the reference code computes it: the fixtures of
`cargo test -p rem-worldmodel --test lpips`.

The reference is the LPIPS authors' package (`lpips` 0.1.4 on PyPI, BSD; REM's
`src/models/tokenizer/lpips.py` computes the same function: scaling layer, VGG16
relu1_2 ... relu5_3, unit-normalised channels, squared differences, the v0.1 linear
layers, spatial means, their sum). Its VGG16 is torchvision's layout, built here with
the weights of `scripts/lpips_weights.py` loaded into it (torchvision itself is
only asked for the layer list, which this script supplies when torchvision is
missing, as it does scipy and tqdm, which only the package's training code uses). In eval mode, as REM evaluates it; training adds dropout on the squared
differences.

Writes into `worldmodel/tests/fixtures/lpips/`:
    x.npy, y.npy        [2, 3, 64, 64] f32 in [-1, 1]: two pairs of frames
    distance.npy        [2] f32: lpips(x[i], y[i])
    grad_y.npy          [2, 3, 64, 64] f32: d(sum of the distances) / dy

    python3 scripts/lpips_weights.py
    python3 scripts/lpips_reference.py [--weights weights/lpips_vgg16.safetensors]

Needs torch, numpy and pip (it fetches the lpips package into a temporary folder).
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

OUT = pathlib.Path("worldmodel/tests/fixtures/lpips")
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_features():
    """torchvision's `vgg16().features`: conv3x3 + ReLU per width, max-pools at "M"."""
    layers, channels = [], 3
    for v in VGG16:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [torch.nn.Conv2d(channels, v, kernel_size=3, padding=1), torch.nn.ReLU(inplace=True)]
            channels = v
    return torch.nn.Sequential(*layers)


def provide_imports():
    """What the lpips package imports and LPIPS itself does not use: torchvision for
    the layer list only, scipy and tqdm for its training code."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        models = types.SimpleNamespace(vgg16=lambda pretrained=False, **_: types.SimpleNamespace(features=vgg16_features()))
        sys.modules["torchvision"] = types.SimpleNamespace(models=models)
        sys.modules["torchvision.models"] = models
    for name, attributes in [("scipy", {}), ("scipy.ndimage", {"zoom": None}), ("tqdm", {"tqdm": None})]:
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                sys.modules[name] = types.SimpleNamespace(**attributes)


def read_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    base = 8 + n
    return {name: np.frombuffer(data[base + e["data_offsets"][0]:base + e["data_offsets"][1]], dtype="<f4")
            .reshape(e["shape"]) for name, e in header.items() if name != "__metadata__"}


def frames(rng):
    """Two pairs: a smooth random frame against a noisy copy of it, and two unrelated frames."""
    def smooth():
        coarse = rng.uniform(-1, 1, size=(3, 8, 8))
        return np.kron(coarse, np.ones((8, 8))) * 0.8 + rng.normal(0, 0.1, size=(3, 64, 64))
    a, b, c = smooth(), smooth(), smooth()
    x = np.stack([a, b])
    y = np.stack([a + rng.normal(0, 0.2, size=a.shape), c])
    return np.clip(x, -1, 1).astype("f4"), np.clip(y, -1, 1).astype("f4")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="weights/lpips_vgg16.safetensors")
    args = parser.parse_args()
    provide_imports()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--target", folder, "lpips==0.1.4"], check=True)
        sys.path.insert(0, folder)
        import lpips
        model = lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True, verbose=False).eval()
    weights = read_safetensors(args.weights)
    convs = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13
    with torch.no_grad():
        for i, conv in enumerate(convs):
            conv.weight.copy_(torch.from_numpy(weights[f"conv{i}.weight"].copy()))
            conv.bias.copy_(torch.from_numpy(weights[f"conv{i}.bias"].copy()))
        for i, lin in enumerate(model.lins):
            reference = lin.model[-1].weight.reshape(-1).numpy()
            assert np.array_equal(reference, weights[f"lin{i}.weight"]), f"lin{i} differs"
    x, y = frames(np.random.default_rng(0))
    y_t = torch.from_numpy(y).requires_grad_(True)
    distance = model(torch.from_numpy(x), y_t).reshape(-1)
    distance.sum().backward()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, array in [("x", x), ("y", y), ("distance", distance.detach().numpy()),
                        ("grad_y", y_t.grad.numpy())]:
        np.save(OUT / f"{name}.npy", np.ascontiguousarray(array, dtype="<f4"))
    print("distances", distance.detach().numpy(), "written to", OUT)


if __name__ == "__main__":
    main()
