"""How an option kind (loop, mitigation, generator family, sampler) finds its options: every module of its
package is imported, and each subclass of the kind's base class that names itself is one option. An option
with settings of its own stores its Config in Hydra's ConfigStore as <group>/schema_<name>, which the
option's YAML names first in its defaults, so Hydra rejects a key the option does not have. An option's module
imports what it needs from its package's base module (lab.curate.base, …), never from the package itself,
which is still loading while it imports the options."""

import importlib
import pkgutil
from typing import ClassVar

from hydra.core.config_store import ConfigStore


class Option:
    """Base of an option kind. `group` is its Hydra group; `key` the class attribute that names an option."""

    group: ClassVar[str]
    key: ClassVar[str] = "name"
    Config: ClassVar[type | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.key in vars(cls) and cls.Config is not None:
            ConfigStore.instance().store(group=cls.group, name=f"schema_{vars(cls)[cls.key]}", node=cls.Config)


def options(package: str, path, base: type) -> dict[str, type]:
    """Import every module of `package` (at `path`), then name → class of each subclass of `base` that names itself."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")
    found: dict[str, type] = {}
    for cls in _subclasses(base):
        if base.key in vars(cls):
            name = vars(cls)[base.key]
            if found.setdefault(name, cls) is not cls:
                raise TypeError(f"two options are named {name!r}: {found[name].__module__} and {cls.__module__}")
    return found


def _subclasses(cls: type) -> list[type]:
    """Every subclass below `cls`, each once (a class reached along two lines of inheritance included)."""
    return list(dict.fromkeys(c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))))
