"""The `/quality` page's HTML: escaped everywhere, no script, no external asset.

One section per integration (vendor): its score chart and latest dimension scores, then one
block per connection (chart, scores, sync lag, top failures, findings); then the quarantine
with its search form, its pages and a Replay form per (connection, entity).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from integration_assets.console.chart import score_chart
from integration_assets.console.pages import nav, page
from integration_assets.console.quality_data import (
    DIMENSIONS,
    IntegrationQuality,
    ScopeQuality,
)
from integration_assets.console.quarantine_view import QuarantinePage, QuarantineQuery
from integration_assets.monitoring.format import ago, duration

QUALITY_STYLE = """
.scores{display:flex;gap:8px;flex-wrap:wrap;margin:6px 0 10px}
.score{border:1px solid #dde1e7;border-radius:6px;padding:3px 7px;min-width:66px}
.score b{display:block;font-size:17px}.score span{font-size:10px;color:#666;text-transform:uppercase}
.score.low b{color:#9c1c1c}.score.mid b{color:#8a5a00}.score.high b{color:#146c2e}
.block{border-top:1px solid #eceef2;padding:8px 0 4px}
.block h3{font-size:14px;margin:4px 0}
.cols{display:flex;gap:16px;flex-wrap:wrap}.cols>div{flex:1;min-width:300px}.cols>div.chart{flex:0 0 570px}
table.quarantine td.record{width:40%}
form.search{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin:0 0 10px}
form.search label{font-size:12px;color:#555;display:flex;flex-direction:column;gap:2px}
form.search input,form.search select{font:inherit;padding:3px 6px}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f7f9;padding:6px;margin:4px 0;font-size:12px}
ul.reasons{margin:0;padding-left:18px}
nav.pager{display:flex;gap:12px;align-items:center;margin-top:8px}
form.replay{display:inline}
"""


def _score_class(score: float | None) -> str:
    if score is None:
        return ""
    return "high" if score >= 90 else "mid" if score >= 70 else "low"


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _scores(scope: ScopeQuality) -> str:
    if not scope.latest:
        return ""
    cells = "".join(
        f'<div class="score {_score_class(scope.latest.get(name))}" data-dimension="{name}">'
        f"<b>{_number(scope.latest.get(name))}</b><span>{name}</span></div>"
        for name in ("overall", *DIMENSIONS)
    )
    when = f"{scope.latest_at:%Y-%m-%d %H:%M} UTC" if scope.latest_at else ""
    rate = f", pass rate {scope.pass_rate:.1%}" if scope.pass_rate is not None else ""
    return f"<div class=scores>{cells}</div><p class=muted>Latest: {escape(when)}{rate}</p>"


def _failures(scope: ScopeQuality) -> str:
    if not scope.failures:
        return "<p class=muted>No failures in the latest syncs.</p>"
    rows = "".join(
        f'<tr data-check="{escape(f.check)}"><td>'
        f"{escape(f.entity)}</td><td>{escape(f.check)}</td>"
        f"<td>{escape(f.dimension)}</td><td>{escape(f.column or '-')}</td>"
        f"<td class=num>{f.count:,}</td><td>{escape(', '.join(f.example_ids) or '-')}</td></tr>"
        for f in scope.failures
    )
    return (
        "<table class=failures><thead><tr><th>entity</th><th>check</th><th>dimension</th>"
        "<th>column</th><th>count</th><th>example ids</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _findings(scope: ScopeQuality) -> str:
    if not scope.findings:
        return "<p class=muted>No anomaly or drift in the latest syncs.</p>"
    rows = "".join(
        f"<tr><td>{escape(f.entity)}</td><td>{escape(f.kind)}</td><td>{escape(f.metric)}</td>"
        f"<td>{escape(f.column or '-')}</td><td class=num>{_number(f.value, 3)}</td>"
        f"<td class=num>{_number(f.expected, 3)}</td><td class=num>{_number(f.score, 2)}</td>"
        f"<td>{escape(f.message)}</td></tr>"
        for f in scope.findings
    )
    return (
        "<table class=findings><thead><tr><th>entity</th><th>kind</th><th>metric</th>"
        "<th>column</th><th>value</th><th>expected</th><th>score</th><th>message</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _lag(scope: ScopeQuality, now: datetime) -> str:
    if not scope.lag:
        return "<p class=muted>Not a configured connection: no sync lag.</p>"
    rows = "".join(
        f'<tr data-entity="{escape(r.entity)}"><td>{escape(r.entity)}</td>'
        f'<td><span class="badge {escape(r.status)}">{escape(r.status)}</span></td>'
        f"<td class=num data-field=lag>{duration(r.lag_seconds)}</td>"
        f"<td>{ago((now - r.last_success_at).total_seconds() if r.last_success_at else None)}</td></tr>"
        for r in scope.lag
    )
    return (
        "<table class=lag><thead><tr><th>entity</th><th>status</th><th>lag</th>"
        f"<th>last success</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _integration(item: IntegrationQuality, now: datetime) -> str:
    vendor = escape(item.summary.vendor)
    parts = [
        f'<section data-vendor="{vendor}"><h2>{vendor} <span class=muted>integration</span></h2>',
        score_chart(
            [(p.measured_at, p.overall) for p in item.summary.history],
            f"{item.summary.vendor} overall quality score over time",
        ),
        _scores(item.summary),
    ]
    for scope in item.connections:
        name = escape(scope.connection or "")
        chart = score_chart(
            [(p.measured_at, p.overall) for p in scope.history],
            f"{scope.connection} overall quality score over time",
        )
        parts.append(
            f'<div class=block data-connection="{name}"><h3>{name} '
            f"<span class=muted>connection</span></h3>"
            f"<div class=cols><div class=chart>{chart}{_scores(scope)}</div><div><h3>Sync lag</h3>{_lag(scope, now)}</div></div>"
            f"<h3>Top failures</h3>{_failures(scope)}"
            f"<h3>Anomalies and drift</h3>{_findings(scope)}</div>"
        )
    parts.append("</section>")
    return "".join(parts)


def _options(values: Sequence[str], chosen: str, everything: str) -> str:
    options = [f'<option value="">{escape(everything)}</option>']
    for value in values:
        selected = " selected" if value == chosen else ""
        options.append(f'<option value="{escape(value)}"{selected}>{escape(value)}</option>')
    return "".join(options)


def _page_link(query: QuarantineQuery, number: int) -> str:
    params = {"connection": query.connection, "entity": query.entity, "q": query.text}
    kept = {k: v for k, v in params.items() if v}
    return "/quality?" + urlencode({**kept, "page": number}) + "#quarantine"


def _quarantine(found: QuarantinePage, query: QuarantineQuery, csrf: str) -> str:
    token = escape(csrf)
    connections = sorted({c for c, _, _ in found.open_by_entity} | ({query.connection} - {""}))
    entities = sorted({e for _, e, _ in found.open_by_entity} | ({query.entity} - {""}))
    replays = "".join(
        f'<tr data-replay="{escape(f"{c}/{e}")}"><td>{escape(c)}</td><td>{escape(e)}</td>'
        f"<td class=num>{n:,}</td><td><form class=replay method=post action=/quality/replay>"
        f'<input type=hidden name=csrf value="{token}">'
        f'<input type=hidden name=connection value="{escape(c)}">'
        f'<input type=hidden name=entity value="{escape(e)}">'
        f'<button type=submit aria-label="replay {escape(f"{e} of {c}")}">Replay</button>'
        "</form></td></tr>"
        for c, e, n in found.open_by_entity
    )
    replay_table = (
        "<table class=replays><thead><tr><th>connection</th><th>entity</th><th>open</th>"
        f"<th>replay with today's mapping</th></tr></thead><tbody>{replays}</tbody></table>"
        if replays
        else "<p class=muted>The quarantine is empty.</p>"
    )
    search = (
        '<form class=search method=get action="/quality#quarantine" role=search>'
        f"<label>connection<select name=connection>{_options(connections, query.connection, 'any')}</select></label>"
        f"<label>entity<select name=entity>{_options(entities, query.entity, 'any')}</select></label>"
        f'<label>record key or reason<input type=search name=q value="{escape(query.text)}" '
        'placeholder="e.g. 1042 or email"></label><button type=submit>Search</button></form>'
    )
    rows = "".join(
        f'<tr data-quarantine-id="{row.id}"><td>{escape(row.connection)}</td>'
        f"<td>{escape(row.entity)}</td><td>{escape(row.record_key)}</td>"
        "<td><ul class=reasons>"
        + "".join(f"<li>{escape(reason)}</li>" for reason in row.reasons)
        + f"</ul></td><td class=num>{row.seen_count}</td>"
        f"<td>{row.quarantined_at:%Y-%m-%d %H:%M}</td><td class=record><details><summary>raw record</summary>"
        f"<pre>{escape(json.dumps(row.record, indent=1, ensure_ascii=False, default=str))}</pre>"
        "</details></td></tr>"
        for row in found.rows
    )
    table = (
        "<table class=quarantine><thead><tr><th>connection</th><th>entity</th><th>record key</th>"
        "<th>reasons</th><th>seen</th><th>quarantined</th><th>record (masked)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else "<p class=muted>No open quarantined record matches.</p>"
    )
    pager = [
        f"<span class=muted>{found.total:,} matching · page {found.page} of {found.pages}</span>"
    ]
    if found.page > 1:
        pager.insert(
            0, f'<a rel=prev href="{escape(_page_link(query, found.page - 1))}">← newer</a>'
        )
    if found.page < found.pages:
        pager.append(f'<a rel=next href="{escape(_page_link(query, found.page + 1))}">older →</a>')
    return (
        "<section id=quarantine><h2>Quarantine</h2>"
        f"{replay_table}<h3>Records</h3>{search}{table}"
        f'<nav class=pager aria-label="quarantine pages">{"".join(pager)}</nav></section>'
    )


def quality_page(
    integrations: Sequence[IntegrationQuality],
    quarantine: QuarantinePage,
    query: QuarantineQuery,
    *,
    nonce: str,
    csrf: str,
    now: datetime,
    flash: tuple[str, str] | None,
) -> str:
    parts = []
    if flash:
        kind, message = flash
        parts.append(f'<p class="flash {escape(kind)}" role=status>{escape(message)}</p>')
    parts.append(
        f"<p class=muted>As of {now:%Y-%m-%d %H:%M:%S} UTC. Scores are 0-100 "
        "(see docs/quality.md); reload for newer figures.</p>"
    )
    parts += [_integration(item, now) for item in integrations]
    if not integrations:
        parts.append("<p>No connection is configured and no quality was measured yet.</p>")
    parts.append(_quarantine(quarantine, query, csrf))
    return page(
        "Data quality · integration-assets",
        "".join(parts),
        nonce,
        nav("quality", csrf),
        style=QUALITY_STYLE,
    )
