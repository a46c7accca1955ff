from collections.abc import Iterator

import pytest

from integration_assets_tests.alerts.slack_endpoint import SlackEndpoint, slack_endpoint


@pytest.fixture
def slack() -> Iterator[SlackEndpoint]:
    with slack_endpoint() as endpoint:
        yield endpoint
