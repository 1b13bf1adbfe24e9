"""template.yaml and samconfig.toml: what the deployed function is, who may call it, what it
may read, and that cfn-lint finds nothing, informational checks included."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

from llmrelay.local.template import load_function_config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
LAYER_MAKEFILE = ROOT / "layers" / "llmrelay" / "Makefile"

PROVIDER_KEYS = {
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "HF_TOKEN",
    "GROQ_API_KEY",
    "GEMINI_API_KEY",
}


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
    """A safe loader that reads CloudFormation's short tags as their long JSON forms."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def _load(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


@pytest.fixture(scope="module")
def function(resources: dict[str, Any]) -> dict[str, Any]:
    return dict(resources["ChatFunction"]["Properties"])


@pytest.fixture(scope="module")
def url(resources: dict[str, Any]) -> dict[str, Any]:
    return dict(resources["ChatFunctionUrl"]["Properties"])


# What the URL and its permissions point at: the alias `live` with SnapStart (its published
# versions are the only ones restored from snapshots), else the unqualified function.
TARGET = {"Fn::If": ["SnapStartEnabled", {"Ref": "ChatFunction.Alias"}, {"Ref": "ChatFunction"}]}


@pytest.fixture(scope="module")
def env(function: dict[str, Any]) -> dict[str, Any]:
    return dict(function["Environment"]["Variables"])


def _of_type(resources: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def _statements(function: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement; one under a condition (``Fn::If`` with ``AWS::NoValue`` as its
    other branch) as its statement."""
    for policy in function.get("Policies", []):
        assert isinstance(policy, dict), f"no managed or SAM template policy, got {policy!r}"
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                _, statement, otherwise = statement["Fn::If"]
                assert otherwise == {"Ref": "AWS::NoValue"}
            yield statement


def _conditions(function: Mapping[str, Any]) -> dict[str, str | None]:
    """Each statement's Sid and the condition it is under (``None``: always)."""
    found: dict[str, str | None] = {}
    for policy in function.get("Policies", []):
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                condition, then, _ = statement["Fn::If"]
                found[then["Sid"]] = condition
            else:
                found[statement["Sid"]] = None
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("Runtime", "python3.13"),
        ("Architectures", ["arm64"]),
        ("Handler", "app.handler"),
        ("CodeUri", "functions/chat/"),
        ("MemorySize", 512),
        ("Layers", [{"Ref": "LLMRelayLayer"}]),
    ],
)
def test_function_runs_the_app_on_python313_arm64_with_the_layer(
    function: dict[str, Any], prop: str, expected: object
) -> None:
    assert function[prop] == expected


def test_no_globals_override_the_function(template: dict[str, Any]) -> None:
    assert "Globals" not in template


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AWS_LAMBDA_EXEC_WRAPPER", "/opt/llmrelay-stream"),
        ("LLMRELAY_SECRET_ID", {"Ref": "ProviderKeysSecret"}),
        ("LLMRELAY_DEFAULT_MODEL", {"Ref": "DefaultModel"}),
        ("LLMRELAY_ECHO_DELAY_MS", {"Ref": "EchoDelayMs"}),
        ("LLMRELAY_AUTH", {"Fn::If": ["PublicUrl", "api_key", "iam"]}),
        ("POWERTOOLS_SERVICE_NAME", "llmrelay"),
        ("POWERTOOLS_METRICS_NAMESPACE", "LLMRelay"),
        ("POWERTOOLS_LOG_LEVEL", {"Ref": "LogLevel"}),
    ],
)
def test_function_environment(env: dict[str, Any], name: str, expected: object) -> None:
    assert env[name] == expected


def test_the_layer_is_built_by_its_makefile_for_python313_arm64(resources: dict[str, Any]) -> None:
    layers = _of_type(resources, "AWS::Serverless::LayerVersion")
    assert list(layers) == ["LLMRelayLayer"]
    layer = layers["LLMRelayLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/llmrelay/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # SAM runs `make build-<logical id>` from the Makefile in ContentUri.
    targets = re.findall(r"^([\w-]+):", LAYER_MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert "build-LLMRelayLayer" in targets


def test_the_function_has_no_requirements_of_its_own() -> None:
    # Its dependencies live in the layer. A requirements.txt here would make `sam build` pip
    # install them into the function too, and demand a local python3.13 to do it.
    assert not (ROOT / "functions" / "chat" / "requirements.txt").exists()


def test_function_url_streams(url: dict[str, Any]) -> None:
    assert url["InvokeMode"] == "RESPONSE_STREAM"


def test_the_function_has_one_url_written_out(
    resources: dict[str, Any], function: dict[str, Any]
) -> None:
    # FunctionUrlConfig would put a second URL on the alias, whatever the parameter says.
    assert "FunctionUrlConfig" not in function
    assert list(_of_type(resources, "AWS::Lambda::Url")) == ["ChatFunctionUrl"]


def test_url_auth_type_is_a_parameter_defaulting_to_none(
    template: dict[str, Any], url: dict[str, Any]
) -> None:
    assert url["AuthType"] == {"Ref": "AuthType"}
    parameter = template["Parameters"]["AuthType"]
    assert parameter["AllowedValues"] == ["NONE", "AWS_IAM"]
    assert parameter["Default"] == "NONE"


def test_cors_origins_are_a_parameter(template: dict[str, Any], url: dict[str, Any]) -> None:
    cors = url["Cors"]
    assert cors["AllowOrigins"] == {"Ref": "CorsAllowOrigins"}
    parameter = template["Parameters"]["CorsAllowOrigins"]
    assert parameter["Type"] == "CommaDelimitedList"
    assert parameter["Default"] == "*"


@pytest.mark.parametrize(
    ("field", "required"),
    [
        ("AllowMethods", {"GET", "POST", "DELETE"}),
        ("AllowHeaders", {"content-type", "authorization", "x-api-key", "accept", "last-event-id"}),
        ("ExposeHeaders", {"retry-after", "x-amzn-requestid", "x-llmrelay-stream-id"}),
    ],
)
def test_cors_lets_a_browser_post_with_a_key_and_read_the_stream(
    url: dict[str, Any], field: str, required: set[str]
) -> None:
    cors = url["Cors"]
    assert required <= set(cors[field])
    assert 0 < cors["MaxAge"] <= 7200
    # Credentials with a "*" origin are refused by browsers: keys travel in headers instead.
    assert not cors.get("AllowCredentials", False)


def test_a_public_url_grants_both_invoke_permissions(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # SAM adds these only for a literal `AuthType: NONE`, never for a parameter; since October
    # 2025 a public URL needs lambda:InvokeFunctionUrl and lambda:InvokeFunction both.
    assert template["Conditions"]["PublicUrl"] == {"Fn::Equals": [{"Ref": "AuthType"}, "NONE"]}
    permissions = _of_type(resources, "AWS::Lambda::Permission")
    by_action = {res["Properties"]["Action"]: res for res in permissions.values()}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    for res in permissions.values():
        assert res["Condition"] == "PublicUrl"
        assert res["Properties"]["FunctionName"] == TARGET  # where the URL is
        assert res["Properties"]["Principal"] == "*"
    assert by_action["lambda:InvokeFunctionUrl"]["Properties"]["FunctionUrlAuthType"] == "NONE"
    assert by_action["lambda:InvokeFunction"]["Properties"]["InvokedViaFunctionUrl"] is True


def test_snap_start_is_a_parameter_off_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["SnapStart"]
    assert parameter["AllowedValues"] == ["false", "true"]
    assert parameter["Default"] == "false"
    assert template["Conditions"]["SnapStartEnabled"] == {
        "Fn::Equals": [{"Ref": "SnapStart"}, "true"]
    }


def test_snap_start_applies_to_the_versions_published_behind_the_alias(
    function: dict[str, Any],
) -> None:
    # SAM takes no Fn::If in AutoPublishAlias: versions are published either way, and only
    # SnapStart follows the parameter.
    assert function["AutoPublishAlias"] == "live"
    assert function["SnapStart"] == {
        "ApplyOn": {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}
    }


def test_the_url_is_on_the_alias_only_with_snap_start(url: dict[str, Any]) -> None:
    assert url["TargetFunctionArn"] == TARGET
    assert "Qualifier" not in url  # the alias's ARN is qualified already


def test_timeout_is_tight_and_the_same_everywhere(
    template: dict[str, Any], function: dict[str, Any], env: dict[str, Any]
) -> None:
    timeout = function["Timeout"]
    assert isinstance(timeout, int)
    assert 10 <= timeout <= 120
    # `make dev` enforces the same limit as Lambda.
    assert load_function_config(TEMPLATE).timeout_s == timeout
    # Any timeout the gateway is configured with ends before the function does.
    for name, value in env.items():
        if name.endswith("_TIMEOUT_S"):
            assert float(value) < timeout, name


def test_the_secret_holds_the_shape_of_the_keys(resources: dict[str, Any]) -> None:
    secrets = _of_type(resources, "AWS::SecretsManager::Secret")
    assert list(secrets) == ["ProviderKeysSecret"]
    properties = secrets["ProviderKeysSecret"]["Properties"]
    assert "GenerateSecretString" not in properties
    shape = json.loads(properties["SecretString"])
    assert set(shape) == {*PROVIDER_KEYS, "CLIENT_API_KEY_HASHES"}
    assert all(shape[name] == "" for name in PROVIDER_KEYS)
    assert json.loads(shape["CLIENT_API_KEY_HASHES"]) == []


def test_the_function_may_read_that_secret_and_nothing_else(function: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in _statements(function)}
    assert _conditions(function) == {
        "ReadProviderKeys": None,
        "InvokeBedrockModels": "BedrockEnabled",
        "KeepDurableStreams": None,
    }
    secret = statements["ReadProviderKeys"]
    assert secret["Effect"] == "Allow"
    assert _as_list(secret["Action"]) == ["secretsmanager:GetSecretValue"]
    assert _as_list(secret["Resource"]) == [{"Ref": "ProviderKeysSecret"}]
    assert "Role" not in function


def test_bedrock_models_are_invokable_only_when_listed(
    template: dict[str, Any], function: dict[str, Any], env: dict[str, Any]
) -> None:
    statement = {s["Sid"]: s for s in _statements(function)}["InvokeBedrockModels"]
    assert statement["Effect"] == "Allow"
    assert sorted(_as_list(statement["Action"])) == [
        "bedrock:InvokeModel",  # Converse
        "bedrock:InvokeModelWithResponseStream",  # ConverseStream
    ]
    assert statement["Resource"] == {"Ref": "BedrockModelArns"}
    parameter = template["Parameters"]["BedrockModelArns"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "")
    # The default list is [""], which the condition reads as "no Bedrock access".
    assert template["Conditions"]["BedrockEnabled"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "BedrockModelArns"}]}, ""]}]
    }
    assert env["LLMRELAY_BEDROCK_REGION"] == {"Ref": "BedrockRegion"}
    assert template["Parameters"]["BedrockRegion"]["Default"] == ""


def test_the_function_may_use_its_table_and_nothing_else_there(
    function: dict[str, Any],
) -> None:
    table = {s["Sid"]: s for s in _statements(function)}["KeepDurableStreams"]
    # What the DynamoDB store calls, on that one table: no scans, no table management.
    assert sorted(_as_list(table["Action"])) == [
        "dynamodb:BatchWriteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    assert _as_list(table["Resource"]) == [{"Fn::GetAtt": ["StreamsTable", "Arn"]}]
    assert table["Effect"] == "Allow"


def test_the_streams_table_is_on_demand_with_ttl(resources: dict[str, Any]) -> None:
    table = resources["StreamsTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    keys = {key["AttributeName"]: key["KeyType"] for key in properties["KeySchema"]}
    assert keys == {"pk": "HASH", "sk": "RANGE"}


def test_durable_streams_are_a_parameter_that_names_the_table(
    template: dict[str, Any], env: dict[str, Any]
) -> None:
    assert template["Parameters"]["DurableStreams"]["Default"] == "true"
    assert env["LLMRELAY_DURABLE_TABLE"] == {"Fn::If": ["DurableOn", {"Ref": "StreamsTable"}, ""]}
    assert env["LLMRELAY_DURABLE_RETENTION_S"] == {"Ref": "StreamRetentionSeconds"}


def test_the_local_table_has_the_template_s_shape(dynamodb: Any) -> None:
    from tests.conftest import DYNAMODB_TABLE

    described = dynamodb.describe_table(TableName=DYNAMODB_TABLE)["Table"]
    keys = {key["AttributeName"]: key["KeyType"] for key in described["KeySchema"]}
    assert keys == {"pk": "HASH", "sk": "RANGE"}
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_no_policy_names_a_wildcard_resource(function: dict[str, Any]) -> None:
    for statement in _statements(function):
        assert "*" not in json.dumps(statement["Resource"])


def test_tracing_follows_the_parameter(template: dict[str, Any], function: dict[str, Any]) -> None:
    assert template["Conditions"]["TracingEnabled"] == {
        "Fn::Equals": [{"Ref": "EnableTracing"}, "true"]
    }
    assert function["Tracing"] == {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]}
    assert template["Parameters"]["EnableTracing"]["Default"] == "false"


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("FunctionUrl", {"Fn::GetAtt": ["ChatFunctionUrl", "FunctionUrl"]}),
        ("FunctionName", {"Ref": "ChatFunction"}),
        ("FunctionAlias", {"Ref": "ChatFunction.Alias"}),
        ("SecretArn", {"Ref": "ProviderKeysSecret"}),
        ("LayerArn", {"Ref": "LLMRelayLayer"}),
    ],
)
def test_outputs(template: dict[str, Any], output: str, value: object) -> None:
    assert template["Outputs"][output]["Value"] == value


def test_cfn_lint_finds_nothing_not_even_informational() -> None:
    # Imported here: cfn-lint pulls in sympy, half a second that every test worker would
    # otherwise pay while collecting, for this one test.
    from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped,unused-ignore]

    matches = lint_file(TEMPLATE, config=ManualArgs(include_checks=["I"]))
    assert [str(match) for match in matches] == []


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def test_samconfig_deploys_the_llmrelay_stack(samconfig: dict[str, Any]) -> None:
    assert samconfig["default"]["global"]["parameters"]["stack_name"] == "llmrelay"
    deploy = samconfig["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    build = samconfig["default"]["build"]["parameters"]
    assert build == {"cached": True, "parallel": True}
    assert samconfig["default"]["validate"]["parameters"]["lint"] is True


def test_samconfig_overrides_name_real_parameters_with_valid_values(
    template: dict[str, Any], samconfig: dict[str, Any]
) -> None:
    overrides = samconfig["default"]["deploy"]["parameters"]["parameter_overrides"]
    pairs = dict(re.findall(r'(\w+)="([^"]*)"', overrides))
    parameters = template["Parameters"]
    assert set(pairs) == set(parameters)
    for name, value in pairs.items():
        allowed = parameters[name].get("AllowedValues")
        if allowed is not None:
            assert value in [str(v) for v in allowed], name
        assert value == str(parameters[name]["Default"]), name
