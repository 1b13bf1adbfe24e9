"""What the emulator reads from a SAM template: handler, code, layer, Timeout, MemorySize,
environment; CloudFormation tags load, and what only a deployed stack knows is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.local.template import FunctionConfig, load_function_config, parse_parameter_overrides

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Model:
    Type: String
    Default: echo/echo
  Seconds:
    Type: Number
    Default: 45
  NoDefault:
    Type: String
Conditions:
  Always: !Equals [a, a]
Globals:
  Function:
    MemorySize: 256
    Environment:
      Variables:
        FROM_GLOBALS: g
        OVERRIDDEN: global
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Keys:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${AWS::StackName}/keys"
  Other:
    Type: AWS::Serverless::Function
    Properties:
      Handler: other.handler
      CodeUri: other/
  ChatFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: main.handler
      CodeUri: src/
      Runtime: python3.13
      Timeout: !Ref Seconds
      Layers: [!Ref Layer]
      Environment:
        Variables:
          OVERRIDDEN: own
          MODEL: !Ref Model
          REGION_NAME: !Sub "${AWS::Region}-${Model}"
          SECRET_ARN: !Ref Keys
          SECRET_NAME: !GetAtt Keys.Name
          CHOSEN: !If [Always, x, y]
          UNKNOWN: !Ref NoDefault
          FLAG: true
          NUMBER: 3
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def test_the_chat_function_is_read_with_its_globals(template: Path) -> None:
    config = load_function_config(template)
    assert config.logical_id == "ChatFunction"
    assert config.handler == "main.handler"
    assert config.task_root == template.parent / "src"
    assert config.layer_dir == template.parent / "layer"
    assert config.timeout_s == 45.0
    assert config.memory_mb == 256
    assert config.secret_name == "llmrelay/keys"


def test_environment_values_resolve_when_known_offline_and_are_dropped_otherwise(
    template: Path,
) -> None:
    assert load_function_config(template).environment == {
        "FROM_GLOBALS": "g",
        "OVERRIDDEN": "own",
        "MODEL": "echo/echo",
        "REGION_NAME": "us-east-1-echo/echo",
        "FLAG": "true",
        "NUMBER": "3",
    }


def test_another_function_can_be_chosen(template: Path) -> None:
    config = load_function_config(template, "Other")
    assert (config.handler, config.code_uri, config.timeout_s) == ("other.handler", "other/", 3.0)


def test_an_unknown_function_is_an_error_naming_the_known_ones(template: Path) -> None:
    with pytest.raises(ValueError, match="Other, ChatFunction"):
        load_function_config(template, "Missing")


def test_without_a_template_lambdas_defaults_apply(tmp_path: Path) -> None:
    assert load_function_config(tmp_path / "template.yaml") == FunctionConfig(root=tmp_path)


def test_a_template_without_functions_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no AWS::Serverless::Function"):
        load_function_config(path)


def test_the_projects_template_runs_the_chat_function_from_the_source_tree() -> None:
    config = load_function_config(ROOT / "template.yaml")
    assert config.handler == "app.handler"
    assert config.task_root == ROOT / "functions" / "chat"
    assert config.layer_dir == ROOT / "layers" / "llmrelay"
    assert (config.layer_dir / "llmrelay-stream").is_file()
    assert config.timeout_s > 0


def test_parameter_overrides_replace_the_defaults(template: Path) -> None:
    config = load_function_config(
        template, overrides={"Model": "openai/gpt-4o-mini", "Seconds": "5"}
    )
    assert config.timeout_s == 5.0
    assert config.environment["MODEL"] == "openai/gpt-4o-mini"


def test_an_override_of_an_unknown_parameter_is_an_error(template: Path) -> None:
    with pytest.raises(ValueError, match="no parameter 'Nope'"):
        load_function_config(template, overrides={"Nope": "1"})


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        pytest.param(["A=1", "B=x=y"], {"A": "1", "B": "x=y"}, id="short"),
        pytest.param(["ParameterKey=A,ParameterValue=1"], {"A": "1"}, id="sam-long-form"),
        pytest.param(["A="], {"A": ""}, id="empty-value"),
        pytest.param([], {}, id="none"),
    ],
)
def test_parameter_overrides_are_parsed_like_sams(
    tokens: list[str], expected: dict[str, str]
) -> None:
    assert parse_parameter_overrides(tokens) == expected


@pytest.mark.parametrize("token", ["A", "=1"])
def test_a_malformed_override_is_an_error(token: str) -> None:
    with pytest.raises(ValueError, match="is not Key=Value"):
        parse_parameter_overrides([token])
