"""Typed, validated stack configuration, separate from the resources built from it."""

from guard.config.errors import ConfigError, Problem, format_key_path
from guard.config.loader import LoadedConfig, load_stack_config, load_stack_file, raw_from_pulumi
from guard.config.stack import StackConfig

__all__ = [
    "ConfigError",
    "LoadedConfig",
    "Problem",
    "StackConfig",
    "format_key_path",
    "load_stack_config",
    "load_stack_file",
    "raw_from_pulumi",
]
