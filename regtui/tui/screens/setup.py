"""Setup: pick presets and the main settings, see the resolved config, start a run."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from regtui import config as config_module
from regtui import presets as presets_module
from regtui.config import DATASETS, MODELS, ConfigError
from regtui.views.format import safe_text

GROUP_ORDER = ("regularization", "init", "augmentation", "model", "training")


@dataclass(frozen=True)
class SetupChoice:
    """What the Setup screen starts from (a new run, or the current run plus a suggestion)."""
    presets: tuple[str, ...] = ("dropout",)
    flags: dict = field(default_factory=dict)


def _flag_values(choice: SetupChoice) -> dict[str, str]:
    train = choice.flags.get("train", {})
    return {"epochs": str(train.get("epochs", "")), "lr": str(train.get("lr", "")),
            "batch": str(train.get("batch_size", ""))}


class SetupScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "start", "start"),
        Binding("a", "app.augment_preview", "augmentation"),
        Binding("r", "app.runs", "runs"),
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("escape", "app.back", "back"),
    ]

    def __init__(self, choice: SetupChoice | None = None) -> None:
        super().__init__()
        self.choice = choice or SetupChoice()
        self.available = {p.name: p for p in presets_module.available()}
        self.resolved: presets_module.Resolved | None = None

    def compose(self) -> ComposeResult:
        values = _flag_values(self.choice)
        data = self.choice.flags.get("data", {})
        model = self.choice.flags.get("model", {})
        device = self.choice.flags.get("train", {}).get("device", "auto")
        with Horizontal(id="setup"):
            with Vertical(id="preset-column"):
                yield Label("presets (space to toggle)", classes="heading")
                yield SelectionList[str](*self._selections(), id="presets")
                yield Static(id="description")
            with VerticalScroll(id="form"):
                yield Label("dataset")
                yield Select([(d, d) for d in DATASETS], value=data.get("dataset", "digits"),
                             allow_blank=False, id="dataset")
                yield Label("model")
                yield Select([(m, m) for m in MODELS], value=model.get("name", "mlp"),
                             allow_blank=False, id="model")
                yield Label("device")
                yield Select([("auto", "auto"), ("cpu", "cpu")], value=device
                             if device in ("auto", "cpu") else "auto", allow_blank=False,
                             id="device")
                yield Label("epochs / learning rate / batch size")
                with Horizontal(id="numbers"):
                    yield Input(values["epochs"], placeholder="epochs", id="epochs")
                    yield Input(values["lr"], placeholder="lr", id="lr")
                    yield Input(values["batch"], placeholder="batch", id="batch")
                yield Static(id="problem")
                yield Button("Start", variant="success", id="start")
                yield Static(id="preview")
        yield Footer(compact=True)

    def _selections(self) -> list[Selection]:
        chosen = set(self.choice.presets)
        ordered = sorted(self.available.values(),
                         key=lambda p: (GROUP_ORDER.index(p.group), p.name))
        return [Selection(Text(safe_text(f"{p.group[:5]:<5} {p.name}")), p.name, p.name in chosen)
                for p in ordered]

    def on_mount(self) -> None:
        if self.app.is_headless:  # tests and snapshots: no blinking cursor
            for field_input in self.query(Input):
                field_input.cursor_blink = False
        self.detect_devices()
        self.revalidate()

    @work(thread=True, exit_on_error=False)
    def detect_devices(self) -> None:
        """Ask for CUDA and MPS devices off the UI thread (importing torch takes a while)."""
        from regtui.engine import accelerators

        devices = accelerators()
        if devices:
            self.app.call_from_thread(self._add_devices, devices)

    def _add_devices(self, devices: list[str]) -> None:
        select = self.query_one("#device", Select)
        current = select.value
        select.set_options([(d, d) for d in ["auto", "cpu", *devices]])
        select.value = current

    @on(SelectionList.SelectionHighlighted)
    def describe(self, event: SelectionList.SelectionHighlighted) -> None:
        preset = self.available[event.selection.value]
        self.query_one("#description", Static).update(
            Text.assemble((safe_text(preset.name), "bold"), ": ",
                          safe_text(preset.description, lines=True)))

    @on(SelectionList.SelectedChanged)
    @on(Select.Changed)
    @on(Input.Changed)
    def revalidate(self) -> None:
        """Resolve the choices as the CLI would; show the config or the CLI's message."""
        problem = self.query_one("#problem", Static)
        try:
            self.resolved = presets_module.resolve(self.selected_presets(), (), self.flags())
        except ConfigError as error:
            self.resolved = None
            problem.update(Text(safe_text(str(error)), "red"))
        else:
            problem.update("")
            self.query_one("#preview", Static).update(
                Text(safe_text(self._preview(self.resolved), lines=True)))
        self.query_one("#start", Button).disabled = self.resolved is None

    def selected_presets(self) -> list[str]:
        chosen = set(self.query_one("#presets", SelectionList).selected)
        return [name for name in self.choice.presets if name in chosen] + sorted(
            chosen - set(self.choice.presets))

    def flags(self) -> config_module.Layer:
        """The form as a checked layer; errors name the field like the CLI's flags."""
        layer: config_module.Layer = {
            "data": {"dataset": self.query_one("#dataset", Select).value},
            "model": {"name": self.query_one("#model", Select).value},
            "train": {"device": self.query_one("#device", Select).value},
        }
        for widget_id, key, kind in (("epochs", "epochs", int), ("lr", "lr", float),
                                     ("batch", "batch_size", int)):
            text = self.query_one(f"#{widget_id}", Input).value.strip()
            if not text:
                continue
            try:
                value = kind(text)
            except ValueError:
                kind_name = "an integer" if kind is int else "a number"
                raise ConfigError(f"{widget_id} {text!r} is not {kind_name}") from None
            layer["train"][key] = config_module.check_value("train", key, value,
                                                            f"{widget_id} {text}")
        for section, values in self.choice.flags.items():  # keep what the form does not show
            for key, value in values.items():
                layer.setdefault(section, {}).setdefault(key, value)
        return layer

    def _preview(self, resolved: presets_module.Resolved) -> str:
        """Only the settings that differ from the defaults."""
        defaults = config_module.to_dict(config_module.build({}))
        lines = []
        for section, values in config_module.to_dict(resolved.config).items():
            changed = {k: v for k, v in values.items() if defaults[section][k] != v}
            if changed:
                lines.append(f"[{section}]")
                lines += [f"{k} = {config_module.toml_value(v)}" for k, v in changed.items()]
        return "resolved config (changes from the defaults):\n" + ("\n".join(lines) or "(none)")

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        if self.resolved is not None:
            self.app.start_run(self.resolved)
