"""The pictures a generation logs: a grid of image samples (one row per class) and a toy's points over the true
ones. The metrics draw them, and tracking and the run directory save them: they belong to neither.
"""

import numpy as np
import torch
from torchvision.utils import make_grid


def sample_grid(images: torch.Tensor, labels: torch.Tensor, num_classes: int, per_class: int = 10, min_side: int = 32) -> np.ndarray:
    """uint8 HWC grid: one row per class for a conditional model (shows per-class collapse), else 10×10."""
    if bool((labels >= 0).all()):
        rows = []
        for c in range(num_classes):
            picked = images[labels == c][:per_class]
            pad = torch.zeros((per_class - len(picked), *images.shape[1:]), dtype=images.dtype)
            rows.append(torch.cat([picked, pad]))
        chosen = torch.cat(rows)
    else:
        chosen = images[: per_class * per_class]
    scale = max(1, -(-min_side // images.shape[-1]))  # nearest-neighbour upscaling keeps pixels crisp
    chosen = chosen.repeat_interleave(scale, dim=-1).repeat_interleave(scale, dim=-2)
    grid = make_grid(chosen, nrow=per_class, padding=2, pad_value=128)
    grid = grid[:1] if images.shape[1] == 1 else grid
    return grid.permute(1, 2, 0).contiguous().numpy()


def point_cloud(points: torch.Tensor, reference: torch.Tensor, size: int = 320) -> np.ndarray:
    """uint8 HWC picture of toy samples over held-out true points: a scatter (2-D: the first two axes) or,
    for 1-D data, the two histograms."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size / 80, size / 80), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    points, reference = points.double().numpy(), reference.double().numpy()
    if points.shape[1] == 1:
        bins = np.linspace(min(points.min(), reference.min()), max(points.max(), reference.max()), 60)
        ax.hist(reference[:, 0], bins=bins, color="0.7", label="true", density=True)
        ax.hist(points[:, 0], bins=bins, histtype="step", color="C0", label="samples", density=True)
    else:
        ax.scatter(reference[:, 0], reference[:, 1], s=2, color="0.7", label="true")
        ax.scatter(points[:, 0], points[:, 1], s=2, color="C0", label="samples")
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
