"""The self-consumption lab: model collapse (MAD) experiments with small diffusion models."""

__version__ = "0.1.0"
