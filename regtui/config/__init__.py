"""RunConfig: frozen, validated settings for one training run.

A config is built from layers of partial settings (nested dicts `{section: {key: value}}`):
defaults, then presets left to right, then `--set`, then explicit flags. Every layer is
checked against the dataclass fields before it is merged, so an error names the layer it
came from (a preset file, `--set`, a flag) and the key.

  fields.py   the dataclasses and the name lists (what a setting is and accepts)
  checks.py   checking values and layers, merging, building a RunConfig
  files.py    --set assignments, TOML files in and out, the table of settings
"""

from __future__ import annotations

from regtui.config.fields import (  # noqa: F401 - the package is the interface
    INT64_LOW, INT64_HIGH, Layer, ConfigError, setting, DATASETS, MODELS, ACTIVATIONS,
    INIT_SCHEMES, OPTIMIZERS, SCHEDULERS, FILLS, DEVICE_PATTERN, DataConfig,
    ModelConfig, InitConfig, RegularizationConfig, AugmentConfig, TrainConfig,
    AlertsConfig, ALERT_LEVELS, WEBHOOK_URL, check_webhook_urls, MonitorConfig,
    NotifyConfig, RunConfig, SECTIONS, PRIVATE)
from regtui.config.checks import (  # noqa: F401 - the package is the interface
    bound_text, interval_text, check_value, check_layer, merge, build, from_recorded,
    uses_batch_norm)
from regtui.config.files import (  # noqa: F401 - the package is the interface
    parse_assignment, layer_from_assignments, read_toml, load_file, to_dict, to_toml,
    toml_value, describe_fields)
