"""Every random draw comes from a generator seeded by (run seed, generation, purpose).

Keying draws by purpose means that adding a draw somewhere does not shift every other draw, and a run
resumed at generation g draws exactly what an uninterrupted run would have.
"""

import hashlib

import torch


def derive_seed(seed: int, generation: int, purpose: str) -> int:
    digest = hashlib.blake2b(f"{seed}/{generation}/{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def generator(seed: int, generation: int, purpose: str) -> torch.Generator:
    """A CPU generator (CPU draws are the same on every machine; move the result to the device)."""
    return torch.Generator().manual_seed(derive_seed(seed, generation, purpose))


def draw_purpose(purpose: str, draw: int) -> str:
    """The purpose of a generator's `draw`-th batch of samples: draw 0 keeps the plain name (and the seeds of
    runs made before redraws existed), later draws get their own."""
    return purpose if draw == 0 else f"{purpose}_{draw}"
