"""The function's settings, read from the SAM ``template.yaml``.

Only what the emulator needs: handler, code and layer directories, ``Timeout``,
``MemorySize`` and the environment variables. CloudFormation tags (``!Ref``, ``!Sub``,
``!GetAtt``...) load as their long ``{"Ref": ...}`` / ``{"Fn::...": ...}`` forms; a ``Ref``
to a template parameter resolves to its ``Default``, anything else that cannot be known
offline (a secret's ARN, the stack name) is left out.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["FunctionConfig", "load_function_config", "parse_parameter_overrides"]

_FUNCTION = "AWS::Serverless::Function"
_LAYER = "AWS::Serverless::LayerVersion"
_SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
_LONG_FORM = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)")
_SUB = re.compile(r"\$\{([A-Za-z0-9_:]+)\}")
# What the local "stack" answers for CloudFormation's pseudo parameters.
_PSEUDO = {
    "AWS::StackName": "llmrelay",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


@dataclass(frozen=True)
class FunctionConfig:
    """One function as the emulator runs it; defaults are Lambda's own."""

    root: Path
    logical_id: str = "ChatFunction"
    handler: str = "app.handler"
    code_uri: str = "functions/chat"
    layer_uri: str = "layers/llmrelay"
    runtime: str = "python3.13"
    timeout_s: float = 3.0
    memory_mb: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    secret_name: str | None = None

    @property
    def task_root(self) -> Path:
        return (self.root / self.code_uri).resolve()

    @property
    def layer_dir(self) -> Path:
        return (self.root / self.layer_uri).resolve()


def _construct_tag(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    kind = type(node).__name__
    value: Any
    if kind == "ScalarNode":
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif kind == "SequenceNode":
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {name: value}


@cache
def _loader() -> Any:
    """A safe loader that reads CloudFormation's short-form tags (PyYAML is untyped,
    hence ``Any``)."""
    yaml: Any = importlib.import_module("yaml")
    loader: Any = type("CloudFormationLoader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("!", _construct_tag)
    return loader


def _load_yaml(text: str) -> Any:
    yaml: Any = importlib.import_module("yaml")
    return yaml.load(text, Loader=_loader())  # a SafeLoader subclass


def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """A plain value, or a ``Ref`` / string ``Fn::Sub`` made only of parameters with a
    default and pseudo parameters; ``None`` for what only a deployed stack knows."""
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return None
    (kind, argument), known = next(iter(value.items())), {**_PSEUDO, **_defaults(parameters)}
    if kind == "Ref" and isinstance(argument, str):
        return known.get(argument)
    if kind == "Fn::Sub" and isinstance(argument, str):
        names = _SUB.findall(argument)
        if all(name in known for name in names):
            return _SUB.sub(lambda match: str(known[match.group(1)]), argument)
    return None


def _defaults(parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: spec["Default"]
        for name, spec in parameters.items()
        if isinstance(spec, dict) and "Default" in spec
    }


def _of_type(resources: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in resources.items()
        if isinstance(res, dict) and res.get("Type") == kind
    }


def _merged(
    resources: Mapping[str, Any], globals_: Mapping[str, Any], wanted: str | None
) -> tuple[str, dict[str, Any]]:
    """The function's properties with the template's ``Globals`` under them."""
    functions = _of_type(resources, _FUNCTION)
    if not functions:
        raise ValueError("the template declares no AWS::Serverless::Function")
    if wanted is not None and wanted not in functions:
        raise ValueError(f"no function {wanted!r} in the template (have: {', '.join(functions)})")
    name = wanted or ("ChatFunction" if "ChatFunction" in functions else next(iter(functions)))
    properties = dict(globals_.get("Function") or {})
    own = functions[name].get("Properties") or {}
    env = {**_variables(properties), **_variables(own)}
    properties.update(own)
    properties["Environment"] = {"Variables": env}
    return name, properties


def _variables(properties: Mapping[str, Any]) -> dict[str, Any]:
    environment = properties.get("Environment") or {}
    return dict(environment.get("Variables") or {}) if isinstance(environment, dict) else {}


def _first_of(resources: Mapping[str, Any], kind: str, prop: str, params: Mapping[str, Any]) -> Any:
    for resource in _of_type(resources, kind).values():
        return _resolve((resource.get("Properties") or {}).get(prop), params)
    return None


def _environment(variables: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str]:
    resolved = {name: _resolve(value, params) for name, value in variables.items()}
    return {name: _text(value) for name, value in resolved.items() if value is not None}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_parameter_overrides(tokens: Sequence[str]) -> dict[str, str]:
    """``Key=Value`` (or SAM's ``ParameterKey=Key,ParameterValue=Value``) tokens."""
    overrides: dict[str, str] = {}
    for token in tokens:
        match = _LONG_FORM.fullmatch(token)
        key, sep, value = (match.group(1), "=", match.group(2)) if match else token.partition("=")
        if not key or not sep:
            raise ValueError(f"parameter override {token!r} is not Key=Value")
        overrides[key] = value
    return overrides


def _parameters(document: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    params = dict(document.get("Parameters") or {})
    for key, value in overrides.items():
        if not isinstance(params.get(key), dict):
            raise ValueError(f"the template has no parameter {key!r} to override")
        params[key] = {**params[key], "Default": value}
    return params


def load_function_config(
    template: Path, function: str | None = None, overrides: Mapping[str, str] | None = None
) -> FunctionConfig:
    """Read ``function`` (default ``ChatFunction``, else the first) from ``template``, with
    parameter ``overrides``; a missing template gives Lambda's defaults and the project's
    usual layout."""
    root = template.resolve().parent
    if not template.is_file():
        return FunctionConfig(root=root)
    document = _load_yaml(template.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{template} is not a YAML mapping")
    resources = document.get("Resources") or {}
    params = _parameters(document, overrides or {})
    name, props = _merged(resources, document.get("Globals") or {}, function)
    defaults = FunctionConfig(root=root)
    layer = _first_of(resources, _LAYER, "ContentUri", params)
    secret = _first_of(resources, _SECRET, "Name", params)
    return FunctionConfig(
        root=root,
        logical_id=name,
        handler=str(_resolve(props.get("Handler"), params) or defaults.handler),
        code_uri=str(_resolve(props.get("CodeUri"), params) or defaults.code_uri),
        layer_uri=str(layer) if isinstance(layer, str) else defaults.layer_uri,
        runtime=str(_resolve(props.get("Runtime"), params) or defaults.runtime),
        timeout_s=float(_resolve(props.get("Timeout"), params) or defaults.timeout_s),
        memory_mb=int(_resolve(props.get("MemorySize"), params) or defaults.memory_mb),
        environment=_environment(props["Environment"]["Variables"], params),
        secret_name=secret if isinstance(secret, str) else None,
    )
