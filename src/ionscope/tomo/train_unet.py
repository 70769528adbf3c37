"""A small 2-D U-Net for FIB-SEM slices, trained on sparse labels (PyTorch, ``ml`` extra).

Architecture after Ronneberger et al. 2015 (doi:10.1007/978-3-319-24574-4_28), reduced for CPU
training in minutes: two 3×3 convolutions (batch norm, ReLU) per level, ``levels`` poolings, channel
width doubling per level from ``width``; a 1×1 convolution gives the class scores. The loss is the
cross-entropy over labelled pixels only (unlabelled pixels are ignored), weighted by inverse class
frequency. Each step draws random square patches from labelled slices and augments them with the
eight flips/rotations of the square and a random grey-level gain, offset and noise (the standard
augmentations of Ronneberger et al. 2015, Sect. 3.1, without the elastic part).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ionscope.kernels.optional import require_torch


def build_unet(n_classes: int, width: int = 8, levels: int = 2) -> Any:
    """The U-Net as a ``torch.nn.Module`` mapping (batch, 1, y, x) to (batch, classes, y, x)."""
    torch = require_torch("the U-Net")
    nn = torch.nn

    def block(cin: int, cout: int) -> Any:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    module: Any = nn.Module  # torch is optional: the base class is only known at run time

    class UNet(module):
        def __init__(self) -> None:
            super().__init__()
            ch = [width * 2**i for i in range(levels + 1)]
            self.down = nn.ModuleList([block(1 if i == 0 else ch[i - 1], ch[i]) for i in range(levels)])
            self.bottom = block(ch[levels - 1], ch[levels])
            self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2)
                                     for i in reversed(range(levels))])
            self.dec = nn.ModuleList([block(2 * ch[i], ch[i]) for i in reversed(range(levels))])
            self.head = nn.Conv2d(ch[0], n_classes, 1)

        def forward(self, x: Any) -> Any:
            skips = []
            for b in self.down:
                x = b(x)
                skips.append(x)
                x = torch.nn.functional.max_pool2d(x, 2)
            x = self.bottom(x)
            for up, dec, s in zip(self.up, self.dec, reversed(skips), strict=True):
                x = dec(torch.cat([up(x), s], dim=1))
            return self.head(x)

    return UNet()


def _augment(img: np.ndarray, lab: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(4))
    img, lab = np.rot90(img, k), np.rot90(lab, k)
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    img = img * rng.uniform(0.85, 1.15) + rng.normal(0, 0.1) + rng.normal(0, 0.05, img.shape)
    return np.ascontiguousarray(img, np.float32), np.ascontiguousarray(lab)


def train_unet(vol: xr.DataArray, labels: np.ndarray, classes: Sequence[str], *, epochs: int = 30,
               steps_per_epoch: int = 8, batch: int = 8, patch: int = 48, width: int = 8, levels: int = 2,
               learning_rate: float = 3e-3, seed: int = 0,
               progress: Callable[[int, int, float], None] | None = None) -> Any:
    """Train the U-Net on labelled slices of ``vol`` (labels 0 = unlabelled, 1…n classes)."""
    torch = require_torch("the U-Net")
    from ionscope.tomo.train import SegmentationModel, grey_normalisation

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    grey = grey_normalisation(vol)
    norm = (grey.median, grey.iqr)
    img = ((np.asarray(vol.values, np.float32) - norm[0]) / norm[1]).astype(np.float32)
    target = labels.astype(np.int64) - 1
    zs = np.flatnonzero((labels > 0).any(axis=(1, 2)))
    ny, nx = img.shape[1:]
    m = 2**levels
    p = min(patch, ny, nx) // m * m
    if p < m * 4:
        from ionscope.model.errors import ValidationError

        raise ValidationError(f"slices of {ny}×{nx} px are too small for a U-Net with {levels} poolings "
                              f"(need at least {m * 4} px)")
    counts = np.bincount(target[target >= 0], minlength=len(classes)).astype(float)
    weight = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(classes), dtype=torch.float32)
    net = build_unet(len(classes), width, levels)
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight, ignore_index=-1)
    losses: list[float] = []
    net.train()
    for epoch in range(epochs):
        total = 0.0
        for _ in range(steps_per_epoch):
            xs: list[np.ndarray] = []
            ys: list[np.ndarray] = []
            while len(xs) < batch:
                k = int(rng.choice(zs))
                j, i = int(rng.integers(0, ny - p + 1)), int(rng.integers(0, nx - p + 1))
                t = target[k, j:j + p, i:i + p]
                if not (t >= 0).any():
                    continue
                a, b = _augment(img[k, j:j + p, i:i + p], t, rng)
                xs.append(a)
                ys.append(b)
            x = torch.from_numpy(np.stack(xs)[:, None])
            y = torch.from_numpy(np.stack(ys))
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total / steps_per_epoch)
        if progress:
            progress(epoch + 1, epochs, losses[-1])
    arrays = {f"unet.{k}": v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    params = {"epochs": epochs, "steps_per_epoch": steps_per_epoch, "batch": batch, "patch_px": p, "width": width,
              "levels": levels, "learning_rate": learning_rate, "seed": seed,
              "augmentation": "8 flips/rotations, grey gain U(0.85, 1.15), offset N(0, 0.1), noise N(0, 0.05)"}
    sp = vol.attrs.get("spacing_um")
    return SegmentationModel("unet", list(classes), [float(s) for s in sp] if sp else None, norm, arrays,
                             {"parameters": params, "loss_history": losses})


def unet_from_arrays(arrays: Mapping[str, np.ndarray], params: Mapping[str, Any], n_classes: int) -> Any:
    """Rebuild the trained network from the weights stored in a model file."""
    torch = require_torch("the U-Net")
    net = build_unet(n_classes, int(params["width"]), int(params["levels"]))
    state = {k[len("unet."):]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("unet.")}
    net.load_state_dict(state)
    net.eval()
    net.levels = int(params["levels"])
    return net


def unet_proba_block(net: Any, block: np.ndarray) -> np.ndarray:
    """Softmax class probabilities (z, y, x, class) of standardised slices, padded to the pooling grid."""
    torch = require_torch("the U-Net")
    m = 2**net.levels
    nz, ny, nx = block.shape
    py, px = (-ny) % m, (-nx) % m
    x = np.pad(np.asarray(block, np.float32), ((0, 0), (0, py), (0, px)), mode="reflect")
    with torch.no_grad():
        out = torch.softmax(net(torch.from_numpy(x[:, None])), dim=1).numpy()
    return np.moveaxis(out[:, :, :ny, :nx], 1, -1).astype(np.float32)
