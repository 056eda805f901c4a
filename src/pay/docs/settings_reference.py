"""The settings reference: every `PAY_*` variable, its default and what it means, read from the settings classes."""

import importlib
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from pay.platform.settings import Settings


def settings_classes(served: Mapping[str, str]) -> dict[str, type[Settings]]:
    """Each service's own settings class, the one its `settings` module declares."""
    found = {}
    for name, package in sorted(served.items()):
        module = importlib.import_module(f"{package}.settings")
        (declared,) = (
            kind
            for kind in vars(module).values()
            if inspect.isclass(kind) and issubclass(kind, Settings) and kind.__module__ == module.__name__
        )
        found[name] = declared
    return found


def settings_reference(served: Mapping[str, str]) -> str:
    """Markdown: the settings every service shares, then each service's own (those its class adds or changes)."""
    prefix = Settings.model_config.get("env_prefix", "")
    lines = [
        "### Every service",
        "",
        *_table(prefix, Settings.model_fields.items()),
    ]
    for name, declared in settings_classes(served).items():
        # What the class declares itself; `service` only names the service.
        declared_here = inspect.get_annotations(declared).keys() - {"service"}
        own = [(field, info) for field, info in declared.model_fields.items() if field in declared_here]
        if own:
            lines += ["", f"### {name}", "", *_table(prefix, own)]
    return "\n".join(lines) + "\n"


def _table(prefix: str, fields: Any) -> list[str]:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for field, info in fields:
        meaning = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{prefix}{field.upper()}` | {_default(info)} | {meaning} |")
    return rows


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or value == "" or value == {}:
        return "unset"
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, Path):
        value = str(value)
    return f"`{value}`"
