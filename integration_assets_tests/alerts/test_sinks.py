"""The sinks: Slack's incoming-webhook message on a loopback stand-in, and the log."""

from __future__ import annotations

import logging
import socket

import pytest

from integration_assets.alerts.message import Alert, AlertKind
from integration_assets.alerts.routing import FanOutSink, sink_from_env
from integration_assets.alerts.sinks import (
    SLACK_WEBHOOK_ENV,
    AlertDeliveryError,
    LogSink,
    SlackWebhookSink,
)
from integration_assets_tests.alerts.slack_endpoint import WEBHOOK_PATH, SlackEndpoint

FAILURE = Alert(
    kind=AlertKind.FAILURE,
    connection="demo-shop",
    entity="orders",
    incident_kind="sync",
    run_id="0f1e2d3c",
    run_url="http://127.0.0.1:3000/runs/0f1e2d3c",
    error_class="AuthenticationError",
    error_message="shopify/orders: 401 from https://demo-shop.example/admin (set DEMO_TOKEN)",
)
SECRET_PART = WEBHOOK_PATH.rsplit("/", 1)[1]


def test_slack_gets_a_text_fallback_and_blocks_with_the_run_link(slack: SlackEndpoint) -> None:
    SlackWebhookSink(slack.url).send(FAILURE)

    (post,) = slack.posts
    assert post["_content_type"] == "application/json"
    assert post["text"].startswith(":red_circle: Failing: sync of demo-shop/orders")
    assert "AuthenticationError: shopify/orders: 401" in post["text"]
    header, fields, error, context = post["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Failing: sync of demo-shop/orders"},
    }
    assert [f["text"] for f in fields["fields"]] == ["*Connection*\ndemo-shop", "*Entity*\norders"]
    assert error["text"]["text"].startswith("*AuthenticationError*\n```shopify/orders: 401")
    assert context["elements"][0]["text"] == "<http://127.0.0.1:3000/runs/0f1e2d3c|Run 0f1e2d3c>"


def test_a_refused_post_is_an_error_that_names_slacks_reason_not_the_url(
    slack: SlackEndpoint,
) -> None:
    slack.refuse_with = (410, "channel_is_archived")
    with pytest.raises(AlertDeliveryError) as caught:
        SlackWebhookSink(slack.url).send(FAILURE)
    assert str(caught.value) == "the Slack webhook refused the alert: 410 channel_is_archived"
    assert SECRET_PART not in repr(caught.value.__cause__) + repr(caught.value)


def test_an_unreachable_webhook_fails_without_showing_its_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    sink = SlackWebhookSink(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", timeout=2)
    with pytest.raises(AlertDeliveryError) as caught:
        sink.send(FAILURE)
    assert str(caught.value) == "the Slack webhook could not be reached (ConnectError)"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert SECRET_PART not in repr(sink)


def test_the_log_sink_writes_one_line_per_alert(caplog: pytest.LogCaptureFixture) -> None:
    recovery = Alert(
        kind=AlertKind.RECOVERY,
        connection="demo-shop",
        entity="orders",
        incident_kind="sync",
        run_id="9a8b",
        run_url="http://127.0.0.1:3000/runs/9a8b",
        failures=3,
    )
    with caplog.at_level(logging.INFO, logger="integration_assets.alerts"):
        LogSink().send(FAILURE)
        LogSink().send(recovery)

    (failed, recovered) = caplog.records
    assert failed.levelno == logging.ERROR
    assert failed.getMessage() == (
        "integration alert: Failing: sync of demo-shop/orders | AuthenticationError: "
        "shopify/orders: 401 from https://demo-shop.example/admin (set DEMO_TOKEN) | "
        "run http://127.0.0.1:3000/runs/0f1e2d3c"
    )
    assert recovered.levelno == logging.INFO
    assert recovered.getMessage() == (
        "integration alert: Recovered: sync of demo-shop/orders succeeded after 3 failed runs"
        " | run http://127.0.0.1:3000/runs/9a8b"
    )


def test_the_sink_is_slack_beside_the_log_when_its_url_is_set_else_the_log_alone(
    slack: SlackEndpoint,
) -> None:
    assert isinstance(sink_from_env({}), LogSink)
    chosen = sink_from_env({SLACK_WEBHOOK_ENV: slack.url})
    assert isinstance(chosen, FanOutSink)
    assert [type(s) for s in chosen.remote] == [SlackWebhookSink]
    assert repr(chosen) == "FanOutSink([SlackWebhookSink(url=***)])"


def test_a_plain_http_webhook_off_this_machine_is_refused() -> None:
    with pytest.raises(ValueError, match=f"{SLACK_WEBHOOK_ENV} must be an https:// URL"):
        SlackWebhookSink("http://hooks.slack.example/services/T/B/x")


def test_the_webhook_url_is_in_no_log_line(
    slack: SlackEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        SlackWebhookSink(slack.url).send(FAILURE)
    requests = [r for r in caplog.records if r.name == "httpx"]
    assert requests, "httpx logged no request: the check below would prove nothing"
    assert all(SECRET_PART not in r.getMessage() for r in caplog.records)
    assert requests[0].getMessage().startswith("HTTP Request: POST *** ")
