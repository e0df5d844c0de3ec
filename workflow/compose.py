"""The config of a command, once: composed by Hydra, converted to the typed schema, checked, read-only.

Hydra composes ``conf/`` (its YAML files merged onto the schema of
workflow/config.py, registered here in its ConfigStore) with the command
line; :func:`load` converts the result once into a ``Config``, checks what
types cannot say (config_checks.py) and hands it on. Every stage takes that
object, and nothing changes it (config.ReadOnly).

The config tree is ``conf/`` at the top of the checkout and travels inside the
wheel as ``workflow/conf`` (:func:`config_tree`), so an installed wheel finds
it from any folder. This is the one module of the workflow that knows Hydra's
ConfigStore and OmegaConf's conversion; the entry points (cli.py) call
:func:`register` before Hydra composes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from workflow import config_checks, resolvers
from workflow.config import Config
from workflow.errors import MissingValueError

CONFIG_MODULE = "workflow.conf"  # where a wheel carries the tree (pyproject.toml maps conf/ to it)
CHECKOUT_CONF = Path(__file__).resolve().parents[1] / "conf"  # where a checkout has it: beside workflow/
SCHEMA = "schema"  # the schema's name in ConfigStore, first in conf/config.yaml's defaults


def config_tree() -> str:
    """Hydra's config path: the installed package's tree, or a checkout's top-level ``conf/``.

    A checkout's ``workflow`` package (the one the tests import) has no
    ``conf`` inside it, so it reads the tree beside it, the same files the
    wheel ships.
    """
    return f"pkg://{CONFIG_MODULE}" if importlib.util.find_spec(CONFIG_MODULE) is not None else str(CHECKOUT_CONF)


CONFIG_PATH = config_tree()


def register() -> None:
    """Register the schema in Hydra's ConfigStore and the config's ``${...}`` resolvers in OmegaConf (idempotent): before
    Hydra composes anything."""
    ConfigStore.instance().store(name=SCHEMA, node=Config)
    resolvers.register()


def compose(*overrides: str) -> DictConfig:
    """The config the entry points would compose with these overrides (for scripts, benchmarks and tests)."""
    register()
    initialize = (hydra.initialize_config_module(CONFIG_MODULE, version_base="1.3") if CONFIG_PATH.startswith("pkg://")
                  else hydra.initialize_config_dir(CONFIG_PATH, version_base="1.3"))
    with initialize:
        return hydra.compose("config", overrides=list(overrides))


def load(cfg: DictConfig) -> Config:
    """The composed config as the typed, read-only ``Config``, checked (ConfigError naming the key of a bad value;
    MissingValueError naming a value the config must be given, such as ``data.path``)."""
    try:
        config: Config = OmegaConf.to_object(cfg)
    except MissingMandatoryValue as missing:
        raise MissingValueError(f"{missing.full_key}: no value given; set it on the command line ({missing.full_key}=...)") from missing
    config_checks.validate(config)
    return config
