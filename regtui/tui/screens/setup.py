"""Setup: pick presets and the main settings, see the resolved config, start a run.

The form is the command line in fields: the ticked presets, then the "other settings"
lines (like --set), then the fields (like the flags), later wins. A field shows the value
the presets and other settings give it until you change it; only changed fields count as
flags, so ticking `transfer` still switches the model to resnet18.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (Button, Checkbox, Footer, Input, Label, Select, SelectionList,
                             Static, TextArea)

from regtui.tui.widgets.ticks import TickBox, TickList
from textual.widgets.select import InvalidSelectValueError
from textual.widgets.selection_list import Selection

from regtui import config as config_module
from regtui import presets as presets_module
from regtui.config import DATASETS, MODELS, ConfigError
from regtui.views.format import safe_text

GROUP_ORDER = ("regularization", "init", "augmentation", "model", "training")
DEFAULT_PRESETS = ("baseline",)


@dataclass(frozen=True)
class SetupChoice:
    """What the Setup screen starts from: presets and explicit settings (a layer, as the
    flags and --set values of a command line), e.g. the current run plus a suggestion."""
    presets: tuple[str, ...] = DEFAULT_PRESETS
    flags: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FormField:
    """One field of the form and the setting it stands for."""
    id: str
    section: str
    key: str
    label: str


# The form's fields; every other setting goes in the "other settings" lines.
FIELDS = (
    FormField("dataset", "data", "dataset", "dataset"),
    FormField("model", "model", "name", "model"),
    FormField("device", "train", "device", "device"),
    FormField("epochs", "train", "epochs", "epochs"),
    FormField("lr", "train", "lr", "lr"),
    FormField("batch", "train", "batch_size", "batch size"),
    FormField("train-subset", "data", "train_subset", "train subset"),
    FormField("data-dir", "data", "data_dir", "data dir"),
    FormField("download", "data", "download", "download"),
)
FIELD_KEYS = {(f.section, f.key) for f in FIELDS}
INPUT_KINDS = {"epochs": int, "lr": float, "batch": int, "train-subset": int, "data-dir": str}


def _shown(value: Any) -> Any:
    """A setting as its widget holds it: text for inputs, the value for selects/checkboxes."""
    if value is None:
        return ""
    if isinstance(value, (bool, str)):
        return value
    return repr(value)


class SetupScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "start", "start"),
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("q", "app.quit_app", "quit"),
        Binding("a", "app.augment_preview", "augment"),
        Binding("r", "app.runs", "runs"),
        Binding("escape", "app.back", "back"),
    ]

    def __init__(self, choice: SetupChoice | None = None) -> None:
        super().__init__()
        self.choice = choice or SetupChoice()
        self.available = {p.name: p for p in presets_module.available()}
        self.resolved: presets_module.Resolved | None = None
        self.problems: list[str] = []
        # What each field shows while it is not changed: the value the presets give it.
        self.base_values: dict[str, Any] = {}

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        flags = self.choice.flags
        given = {f.id: flags[f.section][f.key] for f in FIELDS
                 if f.key in flags.get(f.section, {})}
        other = [f"{section}.{key}={config_module.toml_value(value)}"
                 for section, values in flags.items() for key, value in values.items()
                 if (section, key) not in FIELD_KEYS and value is not None]
        base = self._base(other)
        start = {f.id: _shown(given.get(f.id, base.get(f.id))) for f in FIELDS}
        self.base_values = {f.id: _shown(base.get(f.id)) for f in FIELDS}
        devices = ["auto", "cpu"] + ([start["device"]] if start["device"] not in
                                     ("auto", "cpu") else [])
        with Horizontal(id="setup"):
            with Vertical(id="preset-column"):
                yield Label("presets (space ticks)", classes="heading")
                yield TickList(*self._selections(), id="presets")
                yield Static(id="ticked")
                yield Static(id="description")
            with VerticalScroll(id="form"):
                yield from self._row("dataset", Select(
                    [(d, d) for d in DATASETS], value=start["dataset"], allow_blank=False,
                    id="dataset", compact=True))
                yield from self._row("model", Select(
                    [(m, m) for m in MODELS], value=start["model"], allow_blank=False,
                    id="model", compact=True))
                yield from self._row("device", Select(
                    [(d, d) for d in devices], value=start["device"], allow_blank=False,
                    id="device", compact=True))
                for field_id, hint in (("epochs", ""), ("lr", ""), ("batch", ""),
                                       ("train-subset", "0 = all")):
                    yield from self._row(field_id, Input(start[field_id], id=field_id,
                                                         compact=True), hint)
                yield from self._row("data-dir", Input(
                    start["data-dir"], id="data-dir", compact=True,
                    placeholder="~/.cache/regtui/data"))
                yield from self._row("download", TickBox(
                    "fetch if missing", bool(start["download"]), id="download",
                    compact=True))
                yield Label("other settings, one a line (as --set):", id="label-other",
                            classes="field-label")
                yield TextArea("\n".join(other), id="other", soft_wrap=False, compact=True,
                               placeholder="section.key=value, e.g.\nmodel.hidden=[512, 256]")
                yield Static(id="problem")
                yield Button("Start (ctrl+s)", variant="success", id="start", compact=True)
                yield Static(id="preview")
        yield Footer(compact=True)

    @staticmethod
    def _row(field_id: str, widget, hint: str = "") -> ComposeResult:
        """A field on one line: its label, its widget and a hint."""
        label = next(f.label for f in FIELDS if f.id == field_id)
        with Horizontal(classes="field"):
            yield Label(label, id=f"label-{field_id}", classes="field-label")
            yield widget
            if hint:
                yield Label(hint, classes="hint")

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
            self.query_one(TextArea).cursor_blink = False
        self._describe_chosen()
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
        select.set_options([(d, d) for d in dict.fromkeys(["auto", "cpu", current, *devices])])
        select.value = current

    def _describe_chosen(self) -> None:
        """Say at once what the ticked presets do (nothing is ticked unexplained)."""
        chosen = self.selected_presets()
        text = Text("ticked: ", "bold") if chosen else Text("no preset ticked: the defaults "
                                                             "(mlp, Adam 1e-3, no regularization)")
        for index, name in enumerate(chosen):
            preset = self.available.get(name)
            text.append(("; " if index else "") + name, "bold")
            if preset is not None:
                text.append(f": {preset.summary}")
        self.query_one("#ticked", Static).update(text)

    @on(SelectionList.SelectionHighlighted)
    def describe(self, event: SelectionList.SelectionHighlighted) -> None:
        preset = self.available[event.selection.value]
        self.query_one("#description", Static).update(
            Text.assemble((safe_text(preset.name), "bold"), ": ",
                          safe_text(preset.description, lines=True)))

    # ------------------------------------------------------------ validation

    def selected_presets(self) -> list[str]:
        chosen = set(self.query_one("#presets", SelectionList).selected)
        return [name for name in self.choice.presets if name in chosen] + sorted(
            chosen - set(self.choice.presets))

    def other_lines(self) -> list[str]:
        return [line.strip() for line in self.query_one("#other", TextArea).text.splitlines()
                if line.strip() and not line.strip().startswith("#")]

    def _base(self, other: list[str]) -> dict[str, Any]:
        """What the presets and other settings give each field (the defaults where they
        cannot be resolved)."""
        presets = list(self.choice.presets) if not self.is_mounted else self.selected_presets()
        try:
            resolved = presets_module.resolve(presets, other, {}).config
        except ConfigError:
            try:
                resolved = presets_module.resolve(presets).config
            except ConfigError:
                resolved = config_module.build({})
        return {f.id: getattr(getattr(resolved, f.section), f.key) for f in FIELDS}

    def _follow_presets(self, other: list[str]) -> None:
        """Fields still showing what the presets gave them follow the new presets."""
        base = {key: _shown(value) for key, value in self._base(other).items()}
        for form_field in FIELDS:
            widget = self.query_one(f"#{form_field.id}")
            old, new = self.base_values.get(form_field.id), base[form_field.id]
            if old != new and widget.value == old:
                try:
                    widget.value = new
                except InvalidSelectValueError:  # a device this machine does not list
                    continue
        self.base_values = base

    @on(SelectionList.SelectedChanged)
    @on(Select.Changed)
    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    def revalidate(self) -> None:
        """Resolve the choices as the CLI would; flag every invalid field at once."""
        problems: list[str] = []
        other, other_problems = [], []
        for number, line in enumerate(self.other_lines(), start=1):
            try:
                config_module.parse_assignment(line)
            except ConfigError as error:
                other_problems.append(f"other settings, line {number}: "
                                      f"{str(error).removeprefix(f'--set {line}: ')}")
            else:
                other.append(line)
        self._follow_presets(other)
        problems += other_problems
        self.query_one("#other", TextArea).set_class(bool(other_problems), "-invalid")
        self.query_one("#label-other").set_class(bool(other_problems), "-invalid")
        layer, field_problems = self.flags()
        problems += field_problems
        self.resolved = None
        if not problems:
            try:
                self.resolved = presets_module.resolve(self.selected_presets(), other, layer)
            except ConfigError as error:
                problems.append(str(error))
        self.problems = problems
        self.query_one("#problem", Static).update(
            Text(safe_text("\n".join(problems), lines=True), "red") if problems else "")
        if self.resolved is not None:
            self.query_one("#preview", Static).update(
                Text(safe_text(self._preview(self.resolved), lines=True)))
        self.query_one("#start", Button).disabled = self.resolved is None
        self._describe_chosen()

    def flags(self) -> tuple[config_module.Layer, list[str]]:
        """The fields that differ from what the presets give them, as a checked layer of
        flags, and one message per invalid field (each field is flagged)."""
        layer: config_module.Layer = {}
        problems = []
        for form_field in FIELDS:
            widget = self.query_one(f"#{form_field.id}")
            value = widget.value
            invalid = False
            if value != self.base_values.get(form_field.id):
                try:
                    layer.setdefault(form_field.section, {})[form_field.key] = \
                        self._checked(form_field, value)
                except ConfigError as error:
                    problems.append(str(error))
                    invalid = True
            if isinstance(widget, Input):
                widget.set_class(invalid, "-invalid")
            self.query_one(f"#label-{form_field.id}").set_class(invalid, "-invalid")
        return layer, problems

    @staticmethod
    def _checked(form_field: FormField, value: Any) -> Any:
        kind = INPUT_KINDS.get(form_field.id)
        source = f"{form_field.label} {value!s}".rstrip()
        if kind is not None:
            text = str(value).strip()
            if kind is str:
                value = text or None
                if value is None:
                    return None
            else:
                try:
                    value = kind(text)
                except ValueError:
                    kind_name = "an integer" if kind is int else "a number"
                    raise ConfigError(f"{form_field.label} {text!r} is not {kind_name}") \
                        from None
        return config_module.check_value(form_field.section, form_field.key, value, source)

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

    def current_choice(self) -> SetupChoice:
        """The form as it stands, to start the next Setup from (after a failed start)."""
        layer = config_module.layer_from_assignments(self.other_lines()) \
            if not any("other settings" in p for p in self.problems) else {}
        fields, _ = self.flags()
        return SetupChoice(tuple(self.selected_presets()), config_module.merge(layer, fields))

    # ------------------------------------------------------------ start

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        self.revalidate()
        if self.resolved is None:
            count = len(self.problems)
            self.notify("\n".join(self.problems[:4]), severity="error", timeout=8,
                        title=f"cannot start: {count} setting{'s' if count != 1 else ''} "
                              "to fix")
            return
        self.app.start_run(self.resolved, self.current_choice())
