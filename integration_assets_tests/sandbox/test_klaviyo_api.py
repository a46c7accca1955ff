"""Stories of the Klaviyo revision 2026-10-15 simulator, told over real HTTP."""

from __future__ import annotations

from datetime import date

import httpx

from integration_assets.connectors.klaviyo import KLAVIYO
from integration_assets.sandbox import KlaviyoSimulator, Sandbox, SimulatorServer
from integration_assets.sandbox.timefmt import utc_iso
from integration_assets_tests.sandbox.conftest import KLAVIYO_REVISION
from integration_assets_tests.sandbox.helpers import klaviyo_pages, klaviyo_records

PROFILES = "/api/profiles/"
EVENTS = "/api/events/"


def _only_error(response: httpx.Response) -> dict:
    errors = response.json()["errors"]
    assert len(errors) == 1
    return errors[0]


def test_requests_without_the_private_key_are_refused(sandbox: Sandbox) -> None:
    response = httpx.get(sandbox.klaviyo_url + PROFILES, headers={"revision": KLAVIYO_REVISION})
    wrong = httpx.get(
        sandbox.klaviyo_url + PROFILES,
        headers={"revision": KLAVIYO_REVISION, "Authorization": "Klaviyo-API-Key pk_wrong"},
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/vnd.api+json"
    error = _only_error(response)
    assert (error["status"], error["code"]) == (401, "not_authenticated")
    assert set(error) == {"id", "status", "code", "title", "detail", "source", "links", "meta"}
    assert (wrong.status_code, _only_error(wrong)["code"]) == (401, "authentication_failed")


def test_the_revision_header_is_required(sandbox: Sandbox) -> None:
    response = httpx.get(
        sandbox.klaviyo_url + PROFILES,
        headers={"Authorization": f"Klaviyo-API-Key {sandbox.klaviyo.api_key}"},
    )

    assert response.status_code == 400
    assert _only_error(response)["code"] == "invalid"
    assert "revision" in _only_error(response)["detail"]


def test_a_retired_revision_with_the_fall_forward_opt_out_gets_410_naming_it(
    sandbox: Sandbox,
) -> None:
    response = httpx.get(
        sandbox.klaviyo_url + PROFILES,
        headers={
            "Authorization": f"Klaviyo-API-Key {sandbox.klaviyo.api_key}",
            "revision": "2024-10-15",
            "X-Klaviyo-Revision-Fall-Forward-Opt-Out": "1",
        },
    )

    assert response.status_code == 410
    assert response.headers["content-type"] == "application/vnd.api+json"
    error = _only_error(response)
    assert (error["status"], error["code"], error["source"]) == (
        410,
        "gone",
        {"header": "revision"},
    )
    assert "2024-10-15 was retired on 2026-10-15" in error["detail"]


def test_a_retired_revision_falls_forward_to_the_oldest_supported_one(
    klaviyo: httpx.Client,
) -> None:
    klaviyo.headers["revision"] = "2024-10-15"
    documents = klaviyo_pages(klaviyo, "events", {"page[size]": 100})

    # Served as 2025-01-15, the oldest revision still supported on 2026-11-30, which has no
    # page[size] for events: the silent drift the opt-out header exists to prevent.
    assert [len(document["data"]) for document in documents] == [200, 200, 50]


def test_a_value_that_is_no_released_revision_is_refused(klaviyo: httpx.Client) -> None:
    for value in ("2024-10-16", "2027-01-15", "2026-10-15.pre", "latest"):
        response = klaviyo.get(PROFILES, headers={"revision": value})

        assert response.status_code == 400, value
        error = _only_error(response)
        assert (error["code"], error["source"]) == ("invalid", {"header": "revision"})
        assert f"'{value}' is not a valid revision" in error["detail"]


def test_a_supported_revision_older_than_the_simulated_ones_is_refused_as_not_simulated() -> None:
    simulator = KlaviyoSimulator(sizes={"profiles": 5, "events": 5}, revision_day=date(2025, 1, 1))
    server = SimulatorServer(simulator).start()
    headers = {"Authorization": "Klaviyo-API-Key pk_demo_key", "revision": "2023-10-15"}
    try:
        response = httpx.get(server.url + PROFILES, headers=headers)
    finally:
        server.stop()

    assert response.status_code == 400
    assert "2023-10-15 is not simulated" in _only_error(response)["detail"]


def test_profiles_answer_with_their_750_per_minute_steady_window(klaviyo: httpx.Client) -> None:
    response = klaviyo.get(PROFILES)

    assert response.headers["RateLimit-Limit"] == "750"


def test_profiles_link_their_push_tokens_and_conversations(klaviyo: httpx.Client) -> None:
    profile = klaviyo.get(PROFILES, params={"page[size]": 1}).json()["data"][0]

    assert set(profile["relationships"]) == {"lists", "segments", "push-tokens", "conversations"}
    assert profile["relationships"]["conversations"]["links"]["related"].endswith(
        f"/api/profiles/{profile['id']}/conversations/"
    )


def test_links_next_walks_every_profile_once_and_carries_the_parameters(
    sandbox: Sandbox, klaviyo: httpx.Client
) -> None:
    documents = klaviyo_pages(klaviyo, "profiles", {"page[size]": 100, "sort": "id"})

    served = [profile["id"] for document in documents for profile in document["data"]]
    assert served == [profile["id"] for profile in sandbox.klaviyo.records("profiles")]
    assert [len(document["data"]) for document in documents] == [100, 100, 50]
    following = documents[0]["links"]["next"]
    assert following.startswith(f"{sandbox.klaviyo_url}{PROFILES}?")
    assert "page%5Bsize%5D=100" in following and "page%5Bcursor%5D=" in following
    assert documents[0]["links"]["prev"] is None and documents[1]["links"]["prev"]
    assert documents[0]["data"][0]["type"] == "profile"
    assert documents[0]["data"][0]["links"]["self"].startswith(sandbox.klaviyo_url)


def test_profile_pages_default_to_20_and_refuse_more_than_100(klaviyo: httpx.Client) -> None:
    default = klaviyo.get(PROFILES)
    too_big = klaviyo.get(PROFILES, params={"page[size]": 101})

    assert len(default.json()["data"]) == 20
    assert too_big.status_code == 400
    assert _only_error(too_big)["source"] == {"parameter": "page[size]"}


def test_event_pages_default_to_200_and_take_a_page_size_up_to_1000(
    klaviyo: httpx.Client,
) -> None:
    default = klaviyo_pages(klaviyo, "events")
    asked = klaviyo_pages(klaviyo, "events", {"page[size]": 100})
    largest = klaviyo_pages(klaviyo, "events", {"page[size]": 1000})
    too_big = klaviyo.get(EVENTS, params={"page[size]": 1001})

    assert [len(document["data"]) for document in default] == [200, 200, 50]
    assert [len(document["data"]) for document in asked] == [100, 100, 100, 100, 50]
    assert [len(document["data"]) for document in largest] == [450]
    assert too_big.status_code == 400
    assert _only_error(too_big)["source"] == {"parameter": "page[size]"}


def test_revisions_before_2026_01_15_serve_200_events_per_page_whatever_page_size_asks(
    klaviyo: httpx.Client,
) -> None:
    klaviyo.headers["revision"] = "2025-10-15"
    documents = klaviyo_pages(klaviyo, "events", {"page[size]": 100})

    assert [len(document["data"]) for document in documents] == [200, 200, 50]


def test_updated_filter_after_advance_returns_exactly_the_changed_profiles(
    sandbox: Sandbox, klaviyo: httpx.Client
) -> None:
    since = utc_iso(sandbox.klaviyo.clock)
    report = sandbox.klaviyo.advance(updated_fraction=0.04, created=3)

    served = klaviyo_records(
        klaviyo, "profiles", {"filter": f"greater-than(updated,{since})", "page[size]": 100}
    )

    changed = set(report.updated["profiles"]) | set(report.created["profiles"])
    assert sorted(profile["id"] for profile in served) == sorted(
        sandbox.klaviyo.vendor_id("profiles", index) for index in changed
    )
    assert all(profile["attributes"]["updated"] > since for profile in served)


def test_profiles_reject_operators_their_fields_do_not_support(klaviyo: httpx.Client) -> None:
    unsupported = klaviyo.get(
        PROFILES, params={"filter": "greater-or-equal(updated,2024-01-01T00:00:00Z)"}
    )
    unbalanced = klaviyo.get(
        PROFILES, params={"filter": "greater-than(updated,2024-01-01T00:00:00Z"}
    )
    unknown = klaviyo.get(PROFILES, params={"filter": "equals(updated_at,2024-01-01T00:00:00Z)"})

    for response in (unsupported, unbalanced, unknown):
        assert response.status_code == 400
        assert _only_error(response)["source"] == {"parameter": "filter"}
    assert (
        _only_error(unbalanced)["detail"]
        == "Invalid filter provided. Verify your parentheses match."
    )


def test_sorting_by_updated_descending_follows_the_changes(
    sandbox: Sandbox, klaviyo: httpx.Client
) -> None:
    sandbox.klaviyo.advance(updated_fraction=0.2)

    served = klaviyo_records(klaviyo, "profiles", {"sort": "-updated", "page[size]": 30})

    stamps = [profile["attributes"]["updated"] for profile in served]
    assert len(served) == 250
    assert stamps == sorted(stamps, reverse=True)


def test_equality_filters_find_single_profiles(sandbox: Sandbox, klaviyo: httpx.Client) -> None:
    target = next(p for p in sandbox.klaviyo.records("profiles") if p["attributes"]["email"])
    other = sandbox.klaviyo.vendor_id("profiles", 9)

    by_id = klaviyo.get(PROFILES, params={"filter": f'equals(id,"{target["id"]}")'})
    by_email = klaviyo.get(
        PROFILES, params={"filter": f"equals(email,'{target['attributes']['email']}')"}
    )
    by_any = klaviyo.get(PROFILES, params={"filter": f'any(id,["{target["id"]}","{other}"])'})

    assert [p["id"] for p in by_id.json()["data"]] == [target["id"]]
    assert [p["id"] for p in by_email.json()["data"]] == [target["id"]]
    assert sorted(p["id"] for p in by_any.json()["data"]) == sorted([target["id"], other])


def test_events_are_append_only_and_filterable_by_datetime(
    sandbox: Sandbox, klaviyo: httpx.Client
) -> None:
    before = list(sandbox.klaviyo.records("events"))
    since = utc_iso(sandbox.klaviyo.clock)
    report = sandbox.klaviyo.advance(updated_fraction=1.0, created={"events": 7}, deleted=5)

    new = klaviyo_records(klaviyo, "events", {"filter": f"greater-than(datetime,{since})"})

    assert list(sandbox.klaviyo.records("events"))[: len(before)] == before
    assert len(report.updated["events"]) == len(report.deleted["events"]) == 0
    assert [event["id"] for event in new] == [
        sandbox.klaviyo.vendor_id("events", index) for index in report.created["events"]
    ]
    assert all(isinstance(event["attributes"]["timestamp"], int) for event in new)


def test_events_of_one_profile(sandbox: Sandbox, klaviyo: httpx.Client) -> None:
    profile = sandbox.klaviyo.vendor_id("profiles", 17)

    served = klaviyo_records(klaviyo, "events", {"filter": f'equals(profile_id,"{profile}")'})

    expected = [
        event["id"]
        for event in sandbox.klaviyo.records("events")
        if event["relationships"]["profile"]["data"]["id"] == profile
    ]
    assert served and [event["id"] for event in served] == expected


def test_events_filter_on_having_a_profile_and_a_metric(
    sandbox: Sandbox, klaviyo: httpx.Client
) -> None:
    truth = list(sandbox.klaviyo.records("events"))
    since = truth[100]["attributes"]["datetime"]
    wanted = f"has(profile),has(metric),greater-than(datetime,{since})"

    served = klaviyo_records(klaviyo, "events", {"filter": wanted})
    refused = klaviyo.get(EVENTS, params={"filter": "has(uuid)"})

    # Every simulated event has its profile and a metric that resolves.
    later = [event["id"] for event in truth if event["attributes"]["datetime"] > since]
    assert later and [event["id"] for event in served] == later
    assert refused.status_code == 400
    assert "'has' is not allowed for field 'uuid'" in _only_error(refused)["detail"]


def test_sparse_fieldsets_cut_the_attributes(klaviyo: httpx.Client) -> None:
    response = klaviyo.get(PROFILES, params={"fields[profile]": "email,updated", "page[size]": 2})

    assert all(set(p["attributes"]) == {"email", "updated"} for p in response.json()["data"])


def test_an_unknown_sparse_field_is_refused_and_the_id_walk_fieldset_is_served(
    klaviyo: httpx.Client,
) -> None:
    refused = klaviyo.get(PROFILES, params={"fields[profile]": "updated,nickname"})
    ids_only = klaviyo.get(PROFILES, params=KLAVIYO.entity("profiles").ids_only_params)

    assert refused.status_code == 400
    assert (
        _only_error(refused)["detail"]
        == "'nickname' is not a valid field for the resource 'profile'."
    )
    assert ids_only.status_code == 200
    assert all(set(p["attributes"]) == {"updated"} and p["id"] for p in ids_only.json()["data"])


def test_a_spent_burst_window_gets_429_with_retry_after() -> None:
    simulator = KlaviyoSimulator(sizes={"profiles": 5, "events": 5}, limits={"profiles": (3, 750)})
    server = SimulatorServer(simulator).start()
    headers = {"Authorization": "Klaviyo-API-Key pk_demo_key", "revision": KLAVIYO_REVISION}
    try:
        with httpx.Client(base_url=server.url, headers=headers) as client:
            responses = [client.get(PROFILES) for _ in range(8)]
    finally:
        server.stop()

    throttled = [response for response in responses if response.status_code == 429]
    assert throttled, "no request was throttled"
    assert int(throttled[0].headers["Retry-After"]) >= 1
    assert _only_error(throttled[0])["code"] == "throttled"
    accepted = next(response for response in responses if response.status_code == 200)
    assert accepted.headers["RateLimit-Limit"] == "750"
    assert int(accepted.headers["RateLimit-Remaining"]) < 750
