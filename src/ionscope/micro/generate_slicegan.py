"""SliceGAN-style 2-D → 3-D generation (PyTorch, ``ml`` extra).

After Kench & Cooper 2021 (doi:10.1038/s42256-021-00322-1): a 3-D convolutional generator makes
one-hot (softmax) volumes from a spatial latent; a 2-D critic compares slices of the generated
volumes along z, y and x with random crops of the (one-hot) micrograph. Isotropic materials share one
critic for the three directions. Training is the Wasserstein GAN with gradient penalty (Gulrajani et
al. 2017, arXiv:1704.00028, Algorithm 1, λ = 10, five critic steps per generator step, Adam with
β = (0, 0.9)). The generator is fully convolutional, so a volume of any edge that is a multiple of 8
is made by a latent of edge/8 + 2 (the extra latent voxels avoid the edge artefacts, as in SliceGAN's
padding). Sizes here are reduced for CPU training in minutes; a GPU (``device="cuda"``) takes the same
code with larger ``width`` and ``iterations``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ionscope.model.errors import ValidationError


def _torch() -> Any:
    from ionscope.kernels.optional import require_torch

    return require_torch("the SliceGAN-style generator")


def build_generator(n_phases: int, nz: int = 16, width: int = 16) -> Any:
    """3-D generator: latent (b, nz, s, s, s) → softmax volume (b, n_phases, 8(s−2), …)."""
    torch = _torch()
    nn = torch.nn
    c = [nz, 2 * width, width, width // 2]
    layers: list[Any] = []
    for i in range(3):
        layers += [nn.ConvTranspose3d(c[i], c[i + 1], 4, 2, 1), nn.BatchNorm3d(c[i + 1]), nn.ReLU(inplace=True)]
    layers += [nn.Conv3d(c[3], n_phases, 3, 1, 1)]
    module: Any = nn.Module  # torch is imported on demand, so its base class is a value here, not a name

    class Generator(module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(*layers)

        def forward(self, z: Any) -> Any:
            out = torch.softmax(self.net(z), dim=1)
            return out[:, :, 8:-8, 8:-8, 8:-8]  # drop the latent's padding voxels (one each side × 8)

    return Generator()


def build_critic(n_phases: int, width: int = 16, crop: int = 32) -> Any:
    """2-D critic on (b, n_phases, crop, crop) slices → one score each (crop a multiple of 8)."""
    torch = _torch()
    nn = torch.nn
    c = [n_phases, width // 2, width, 2 * width]
    layers: list[Any] = []
    for i in range(3):
        layers += [nn.Conv2d(c[i], c[i + 1], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
    layers += [nn.Conv2d(c[3], 1, crop // 8, 1, 0)]
    return nn.Sequential(*layers)


def _one_hot(labels2d: np.ndarray, values: Sequence[int]) -> np.ndarray:
    return np.stack([labels2d == v for v in values], axis=1).astype(np.float32)  # (slices, n, y, x)


def _crops(data: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    s, _, ny, nx = data.shape
    k = rng.integers(0, s, n)
    j = rng.integers(0, ny - size + 1, n)
    i = rng.integers(0, nx - size + 1, n)
    return np.stack([data[a, :, b:b + size, c:c + size] for a, b, c in zip(k, j, i, strict=True)])


def _slices(vol: Any) -> Any:
    """All z, y and x slices of (b, n, L, L, L) volumes as (3·b·L, n, L, L)."""
    torch = _torch()
    b, n, L = vol.shape[0], vol.shape[1], vol.shape[2]
    z = vol.permute(0, 2, 1, 3, 4).reshape(b * L, n, L, L)
    y = vol.permute(0, 3, 1, 2, 4).reshape(b * L, n, L, L)
    x = vol.permute(0, 4, 1, 2, 3).reshape(b * L, n, L, L)
    return torch.cat([z, y, x])


def train_slicegan(labels2d: np.ndarray, values: Sequence[int], *, iterations: int = 300, batch: int = 1,
                   width: int = 16, nz: int = 16, critic_steps: int = 5, crop: int = 32, seed: int = 0,
                   device: str = "cpu",
                   progress: Callable[[int, int, float], None] | None = None) -> tuple[Any, dict[str, Any]]:
    """Train generator and critic on ``crop`` px crops of the 2-D label slices; return the generator and a log."""
    torch = _torch()
    lab = np.asarray(labels2d)
    if lab.ndim == 2:
        lab = lab[None]
    if crop < 16 or crop % 8:
        raise ValidationError(f"the SliceGAN crop must be a multiple of 8 of at least 16 px, got {crop}")
    size = crop
    if min(lab.shape[1:]) < size:
        raise ValidationError(f"SliceGAN trains on {size} px crops: the image ({lab.shape[1]}×{lab.shape[2]} px) is "
                              f"too small")
    try:
        dev = torch.device(device)
        torch.zeros(1, device=dev)
    except (RuntimeError, AssertionError) as exc:
        raise ValidationError(f"--device {device!r} is not available here ({exc})") from exc
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = _one_hot(lab, values)
    gen = build_generator(len(values), nz, width).to(dev)
    crit = build_critic(len(values), width, size).to(dev)
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_c = torch.optim.Adam(crit.parameters(), lr=1e-4, betas=(0.0, 0.9))
    lat = size // 8 + 2
    log: list[float] = []
    t0 = time.perf_counter()
    for it in range(iterations):
        for _ in range(critic_steps):
            fake = _slices(gen(torch.randn(batch, nz, lat, lat, lat, device=dev)).detach())
            real = torch.from_numpy(_crops(data, fake.shape[0], size, rng)).to(dev)
            eps = torch.rand(real.shape[0], 1, 1, 1, device=dev)
            mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad = torch.autograd.grad(crit(mix).sum(), mix, create_graph=True)[0]
            gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss_c = crit(fake).mean() - crit(real).mean() + 10.0 * gp
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
        loss_g = -crit(_slices(gen(torch.randn(batch, nz, lat, lat, lat, device=dev)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        w = float(-(loss_c.detach() - 10.0 * gp.detach()))  # Wasserstein estimate
        log.append(w)
        if progress:
            progress(it + 1, iterations, w)
    gen.eval()
    return gen, {"wasserstein_history": log, "training_seconds": time.perf_counter() - t0,
                 "parameters": {"iterations": iterations, "batch": batch, "width": width, "nz": nz,
                                "critic_steps": critic_steps, "crop_px": size, "device": device}}


def sample_volume(gen: Any, values: Sequence[int], shape: Sequence[int], seed: int = 0, nz: int = 16,
                  device: str = "cpu") -> np.ndarray:
    """A label volume of ``shape`` (edges rounded up to multiples of 8, then cropped) from the generator."""
    torch = _torch()
    torch.manual_seed(seed)
    lat = [int(np.ceil(s / 8)) + 2 for s in shape]
    with torch.no_grad():
        out = gen(torch.randn(1, nz, *lat, device=torch.device(device)))[0].cpu().numpy()
    idx = out.argmax(axis=0)[: shape[0], : shape[1], : shape[2]]
    return np.asarray(values, np.uint8)[idx]


def slicegan_volume(labels2d: np.ndarray, values: Sequence[int], shape: Sequence[int], *, seed: int = 0,
                    device: str = "cpu", progress: Callable[[int, int, float], None] | None = None,
                    **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Train on the 2-D labels and generate one volume of ``shape``."""
    gen, log = train_slicegan(labels2d, values, seed=seed, device=device, progress=progress, **kwargs)
    vol = sample_volume(gen, values, shape, seed=seed, nz=log["parameters"]["nz"], device=device)
    return vol, log
