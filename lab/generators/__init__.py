"""Generators, one module per family (a Generator subclass; lab/generators/base.py says what they share):

    model=cpu|tiny|gpu_small|gpu_large   the diffusion UNet (diffusion_model.py), on images
    model=gaussian                       N(μ, λΣ) fitted by maximum likelihood or unbiased (gaussian.py)
    model=gmm                            a scikit-learn Gaussian mixture (gmm.py)

The toys run on the toy data sets (data=gaussian, data=gmm25): points instead of images, with a known
true distribution, so that collapse has a closed form to check the loop machinery against. The package
imports every module in it, so a new family is one file here and its conf/model/<name>.yaml.
"""

from lab.generators.base import Fit, Generator, ModelConfig
from lab.registry import options

__all__ = ["FAMILIES", "Fit", "Generator", "ModelConfig", "build", "family_of"]

REGISTRY: dict[str, type[Generator]] = options(__name__, __path__, Generator)
FAMILIES = tuple(sorted(REGISTRY))


def family_of(model_cfg) -> type[Generator]:
    return REGISTRY[model_cfg.family]


def build(cfg, real, device, progress: bool) -> Generator:
    return family_of(cfg.model)(cfg, real, device, progress)
