from __future__ import annotations

from pathlib import Path

import pytest

from regtui import config
from regtui.config import ConfigError


def test_empty_config_is_a_valid_run() -> None:
    run = config.build({})
    assert run.data.dataset == "digits"
    assert run.model.name == "mlp"
    assert run.train.device == "auto"


def test_later_layers_override_earlier_key_by_key() -> None:
    merged = config.merge({"model": {"dropout": 0.5, "batchnorm": True}},
                          {"model": {"dropout": 0.2}}, {"train": {"lr": 0.1}})
    run = config.build(merged)
    assert (run.model.dropout, run.model.batchnorm, run.train.lr) == (0.2, True, 0.1)


@pytest.mark.parametrize("text, expected", [
    ("train.optimizer=sgd", ("train", "optimizer", "sgd")),          # bare word
    ('train.optimizer="adamw"', ("train", "optimizer", "adamw")),    # TOML string
    ("model.dropout=0.3", ("model", "dropout", 0.3)),
    ("train.lr=1", ("train", "lr", 1.0)),                            # int where float expected
    ("model.hidden=[64, 32]", ("model", "hidden", (64, 32))),
    ("augment.scale=[0.8, 1.2]", ("augment", "scale", (0.8, 1.2))),
    ("model.batchnorm=true", ("model", "batchnorm", True)),
    ("data.data_dir=/tmp/x", ("data", "data_dir", "/tmp/x")),
])
def test_set_parses_toml_values_and_bare_words(text: str, expected: tuple) -> None:
    assert config.parse_assignment(text) == expected


@pytest.mark.parametrize("text, needle", [
    ("model.dropout=1.5", "model.dropout = 1.5 is out of range; accepted: a number in [0, 1)"),
    ("augment.hflip=2", "augment.hflip = 2 is out of range"),
    ("data.val_fraction=1.5", "data.val_fraction = 1.5 is out of range"),
    ("train.batch_size=0", "train.batch_size = 0 is out of range"),
    ("train.epochs=-3", "train.epochs = -3 is out of range"),
    ("train.optimizer=rmsprop", "accepted: one of sgd, adam, adamw"),
    ("init.scheme=magic", "accepted: one of default, xavier_uniform"),
    ("data.dataset=imagenet", "accepted: one of digits, mnist"),
    ("train.epochs=2.5", "train.epochs = 2.5 is not an integer"),
    ("model.batchnorm=1", "model.batchnorm = 1 is not true/false"),
    ("augment.scale=[0.8]", "is not a list of 2 numbers"),
    ("model.hidden=[64, 0]", "model.hidden = [64, 0] is out of range"),
    ("model.colour=1", "unknown key model.colour; known keys in [model]: name, hidden"),
    ("optim.lr=1", "unknown section [optim]; known sections: data, model"),
    ("dropout=0.5", "expected section.key=value"),
])
def test_bad_values_name_the_key_and_what_is_accepted(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse_assignment(text)
    assert needle in str(caught.value)
    assert str(caught.value).startswith(f"--set {text}")


@pytest.mark.parametrize("layer, needle", [
    ({"augment": {"scale": (1.2, 0.8)}}, "min <= max"),
    ({"train": {"device": "gpu"}}, "accepted: auto, cpu, cuda, cuda:N, mps"),
    ({"model": {"pretrained": True}}, "needs model.name = \"resnet18\""),
    ({"data": {"dataset": "imagefolder"}}, "needs data.data_dir"),
])
def test_settings_that_do_not_go_together(layer: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.build(config.check_layer(layer, "test"))
    assert needle in str(caught.value)


def test_device_pattern_accepts_indexed_cuda() -> None:
    assert config.build({"train": {"device": "cuda:1"}}).train.device == "cuda:1"


def test_toml_round_trip_repeats_the_config(tmp_path: Path) -> None:
    layer = config.check_layer({"model": {"hidden": [64, 64], "dropout": 0.25},
                                "augment": {"scale": [0.9, 1.1]},
                                "data": {"data_dir": "/data/x"},
                                "train": {"lr": 3e-5}}, "test")
    original = config.build(layer)
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml(original, "a header\nsecond line"))
    assert config.build(config.load_file(path)) == original
    assert path.read_text().startswith("# a header\n# second line\n")


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[model\ndropout = 0.5\n")
    with pytest.raises(ConfigError, match=f"{path}: TOML syntax error"):
        config.load_file(path)


def test_every_field_is_documented() -> None:
    rows = config.describe_fields()
    assert len(rows) > 50
    assert all(doc for _, _, _, doc in rows)
    assert ("train.lr", "0.001", "a number in (0, inf)") == rows[
        [r[0] for r in rows].index("train.lr")][:3]
