"""Per invocation: one structured JSON log line (Powertools' Lambda log format) and
CloudWatch metrics in the Embedded Metric Format (Powertools ``EphemeralMetrics``:
``Metrics`` without state shared with other instances), both on stdout, where
Lambda's log agent picks them up; EMF lines become metrics without any API call.

Metrics, in namespace ``POWERTOOLS_METRICS_NAMESPACE`` (default ``LLMRelay``), with the
dimensions ``service``, ``provider`` and ``model`` (and again with ``service`` and
``provider`` only, for totals per provider): ``Requests``, ``Errors`` (0 or 1),
``TimeToFirstToken`` and ``Duration`` (ms), ``InputTokens``, ``OutputTokens``, and
``ColdStart`` on a cold start. An error adds one ``Errors`` metric with the error's code
as a fourth dimension. Requests that reach no provider and fail nothing (``/health``,
the page) are logged, not measured.

The log line is Powertools' ``LambdaPowertoolsFormatter`` (the JSON of its ``Logger``:
``level``, ``location``, ``message``, ``timestamp``, ``service``, ``xray_trace_id``) on a
logger of llmrelay's own: ``Logger()`` itself would configure the process-wide logger
named after the service (``llmrelay``, also this package's logging namespace) and filter
the root logger's handlers, which is not a library's call to make. The level is
``POWERTOOLS_LOG_LEVEL`` (default ``INFO``).

Powertools is imported when the first invocation ends, after its response: never before
a first byte (a call that read its key from Secrets Manager has imported it anyway).
Nothing secret is written: the log holds ids, codes, numbers, and the path and model
strings passed through :func:`llmrelay.redact.redact`; no message, body or header.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, cast

from llmrelay.observability.dimensions import ModelDimensions, dimension_value
from llmrelay.observability.record import InvocationRecord
from llmrelay.redact import redact

if TYPE_CHECKING:
    import logging

    from aws_lambda_powertools.metrics import EphemeralMetrics

__all__ = ["DEFAULT_NAMESPACE", "DEFAULT_SERVICE", "Emitter"]

DEFAULT_NAMESPACE = "LLMRelay"
DEFAULT_SERVICE = "llmrelay"
_MAX_TEXT = 200


class _Stdout:
    """Whatever ``sys.stdout`` is at each write (a test's capture, for one)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


def _log_fields(record: InvocationRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "function_request_id": record.request_id,
        "cold_start": record.cold_start,
        "method": record.method,
        "path": redact(record.path)[:_MAX_TEXT],
        "status": record.status,
        "duration_ms": round(record.duration_ms, 1),
    }
    if record.provider is not None:
        ttft = record.ttft_ms
        fields.update(
            provider=record.provider,
            model=redact(record.model or "")[:_MAX_TEXT],
            ttft_ms=None if ttft is None else round(ttft, 1),
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
        )
    if record.error is not None:
        fields["error_code"] = record.error
    return fields


class Emitter:
    """Writes each record's log line and metrics; one per process (it bounds the model
    dimension's values, see :mod:`.dimensions`)."""

    def __init__(self, models: ModelDimensions | None = None) -> None:
        self._models = models or ModelDimensions()

    def __call__(self, record: InvocationRecord) -> None:
        self.logger.info("request", extra=_log_fields(record))
        if record.provider is not None or record.error is not None:
            self._metrics(record)

    @cached_property
    def logger(self) -> logging.Logger:
        import logging

        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        handler = logging.StreamHandler(cast(IO[str], _Stdout()))
        handler.setFormatter(LambdaPowertoolsFormatter(service=_service()))
        # Not registered with logging's manager: no parent, no global state touched.
        logger = logging.Logger("llmrelay.requests")
        logger.addHandler(handler)
        level = os.environ.get("POWERTOOLS_LOG_LEVEL", "").strip().upper() or "INFO"
        try:
            logger.setLevel(level)
        except ValueError:
            logger.setLevel(logging.INFO)
        return logger

    @cached_property
    def metrics(self) -> EphemeralMetrics:
        from aws_lambda_powertools.metrics import EphemeralMetrics

        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
        return EphemeralMetrics(namespace=namespace, service=_service())

    def _metrics(self, record: InvocationRecord) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        provider = dimension_value(record.provider)
        raw_model = None if record.model is None else redact(record.model)
        model = self._models.value(raw_model, confirmed=record.confirmed)
        count, millis = MetricUnit.Count, MetricUnit.Milliseconds
        metrics = self.metrics
        metrics.clear_metrics()  # nothing half-made by an earlier failure goes out with these
        metrics.add_dimension(name="provider", value=provider)
        metrics.add_dimension(name="model", value=model)
        metrics.add_dimensions(service=_service(), provider=provider)
        metrics.add_metric(name="Requests", unit=count, value=1)
        metrics.add_metric(name="Errors", unit=count, value=int(record.error is not None))
        if record.ttft_ms is not None:
            metrics.add_metric(name="TimeToFirstToken", unit=millis, value=record.ttft_ms)
        metrics.add_metric(name="Duration", unit=millis, value=record.duration_ms)
        metrics.add_metric(name="InputTokens", unit=count, value=record.input_tokens)
        metrics.add_metric(name="OutputTokens", unit=count, value=record.output_tokens)
        if record.cold_start:
            metrics.add_metric(name="ColdStart", unit=count, value=1)
        metrics.flush_metrics()
        if record.error is not None:  # errors by code: a document of their own
            metrics.add_dimension(name="provider", value=provider)
            metrics.add_dimension(name="model", value=model)
            metrics.add_dimension(name="code", value=dimension_value(record.error))
            metrics.add_metric(name="Errors", unit=count, value=1)
            metrics.flush_metrics()
