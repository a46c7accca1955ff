"""The console's HTML: server-rendered, no external assets, escaped everywhere.

Style and script are inline and allowed by a per-response CSP nonce (`security.py`); the
status page's script fetches `/status.json` every few seconds and copies the already
formatted text into the cells it marks, so it never builds HTML from data.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import groupby
from urllib.parse import quote

from integration_assets.monitoring.status import EntityStatus

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;align-items:center;gap:16px}
header h1{font-size:16px;margin:0;flex:1}
main{padding:16px 20px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:0 0 16px;padding:10px 14px}
section h2{font-size:15px;margin:4px 0 8px;display:flex;align-items:center;gap:12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{font-weight:600;color:#555;font-size:12px;text-transform:uppercase}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.ok{background:#dff5e3;color:#146c2e}.running{background:#dde9fb;color:#1c4f9c}
.failing{background:#fbe0e0;color:#9c1c1c}.late{background:#fdf0d5;color:#8a5a00}
.flash{padding:8px 12px;border-radius:6px;margin:0 0 12px}
.flash.ok{border:1px solid #9ed3a8}.flash.error{border:1px solid #e3a1a1}
button{font:inherit;padding:3px 10px;border-radius:4px;border:1px solid #8894a8;background:#fff;cursor:pointer}
header button{background:transparent;color:#fff;border-color:#667}
header nav{display:flex;gap:14px}header nav a{color:#cfd6e4;text-decoration:none}
header nav a[aria-current=page]{color:#fff;font-weight:600;border-bottom:2px solid #fff}
.muted{color:#777;font-size:12px}
form.login{max-width:340px;margin:60px auto;background:#fff;padding:20px;border:1px solid #dde1e7;border-radius:6px}
form.login input{width:100%;box-sizing:border-box;padding:6px;margin:6px 0 12px}
"""

SCRIPT = """
(function(){
  var every = %d * 1000;
  function set(cell, text){ if (cell && cell.textContent !== text) cell.textContent = text; }
  function refresh(){
    fetch('/status.json', {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function(r){ if (r.status === 401) { location.assign('/login'); throw 0; } return r.json(); })
      .then(function(doc){
        doc.rows.forEach(function(row){
          var tr = document.querySelector('tr[data-key="' + CSS.escape(row.connection + '/' + row.entity) + '"]');
          if (!tr) return;
          var d = row.display;
          tr.querySelectorAll('[data-field]').forEach(function(cell){
            var field = cell.getAttribute('data-field');
            if (field === 'status') { cell.className = 'badge ' + d.status; }
            if (field === 'error_run') {
              cell.hidden = !d.error_run_url; cell.href = d.error_run_url || '#';
            }
            set(cell, d[field]);
            var title = d[field + '_title']; if (title !== undefined) cell.title = title;
          });
        });
        set(document.getElementById('as-of'), doc.generated_at.replace('T', ' ').slice(0, 19) + ' UTC');
      })
      .catch(function(){});
  }
  setInterval(refresh, every);
})();
"""


def page(
    title: str, body: str, nonce: str, header: str = "", script: str = "", style: str = ""
) -> str:
    """A whole document; `style` is added to the shared stylesheet."""
    script_tag = f'<script nonce="{nonce}">{script}</script>' if script else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f'<title>{escape(title)}</title><style nonce="{nonce}">{STYLE}{style}</style></head>'
        f"<body><header><h1>integration-assets console</h1>{header}</header>"
        f"<main>{body}</main>{script_tag}</body></html>"
    )


PAGES = (("status", "/status", "Status"), ("quality", "/quality", "Quality"))


def nav(current: str, csrf: str) -> str:
    """The signed-in pages' header: a link to each page, and the sign-out form."""
    links = "".join(
        f'<a href="{href}"' + (' aria-current="page"' if name == current else "") + f">{label}</a>"
        for name, href, label in PAGES
    )
    return (
        f"<nav aria-label=pages>{links}</nav>"
        f'<form method=post action="/logout"><input type=hidden name=csrf value="{escape(csrf)}">'
        "<button type=submit>Sign out</button></form>"
    )


def login_page(nonce: str, form_token: str, error: str | None = None) -> str:
    message = f'<p class="flash error" role=alert>{escape(error)}</p>' if error else ""
    body = (
        '<form class=login method=post action="/login">'
        f"<h2>Sign in</h2>{message}"
        "<label for=token>Console token</label>"
        "<input id=token name=token type=password autocomplete=current-password required autofocus>"
        f'<input type=hidden name=csrf value="{escape(form_token)}">'
        "<button type=submit>Sign in</button>"
        "<p class=muted>The token is the value of INTEGRATION_CONSOLE_TOKEN.</p></form>"
    )
    return page("Sign in · integration-assets", body, nonce)


def _row(row: EntityStatus, cells: dict[str, str]) -> str:
    key = escape(f"{row.connection}/{row.entity}")
    link_hidden = "" if cells["error_run_url"] else " hidden"
    return (
        f'<tr data-key="{key}"><td>{escape(row.entity)}</td>'
        f'<td><span class="badge {escape(cells["status"])}" data-field=status '
        f'title="{escape(cells["status_title"])}">'
        f"{escape(cells['status'])}</span></td>"
        f'<td data-field=last_success title="{escape(cells["last_success_title"])}">'
        f"{escape(cells['last_success'])}</td>"
        f"<td class=num data-field=lag>{escape(cells['lag'])}</td>"
        f"<td class=num data-field=records_per_second>{escape(cells['records_per_second'])}</td>"
        f"<td class=num data-field=inbox_depth>{escape(cells['inbox_depth'])}</td>"
        f'<td><span data-field=error title="{escape(cells["error_title"])}">'
        f"{escape(cells['error'])}</span> <span class=muted data-field=error_when>"
        f"{escape(cells['error_when'])}</span> "
        f'<a data-field=error_run href="{escape(cells["error_run_url"] or "#")}"{link_hidden} '
        f'rel="noopener noreferrer" target=_blank>{escape(cells["error_run"])}</a></td></tr>'
    )


def status_page(
    rows: Sequence[tuple[EntityStatus, dict[str, str]]],
    *,
    nonce: str,
    csrf: str,
    as_of: str,
    refresh_seconds: int,
    flash: tuple[str, str] | None,
    trigger_mode: str,
) -> str:
    """One section per connection (its "sync now" form and a row per entity)."""
    token = escape(csrf)
    parts = []
    if flash:
        kind, message = flash
        parts.append(f'<p class="flash {escape(kind)}" role=status>{escape(message)}</p>')
    parts.append(
        f"<p class=muted>As of <span id=as-of>{escape(as_of)}</span>, refreshed every "
        f"{refresh_seconds} s. Sync now runs {escape(trigger_mode)}.</p>"
    )
    for (connection, vendor), group in groupby(rows, key=lambda r: (r[0].connection, r[0].vendor)):
        name = escape(connection)
        parts.append(
            f'<section data-connection="{name}"><h2>{name} <span class=muted>{escape(vendor)}'
            f'</span><form method=post action="/connections/{escape(quote(connection, safe=""))}/sync">'
            f'<input type=hidden name=csrf value="{token}">'
            f'<button type=submit aria-label="sync {name} now">Sync now</button></form></h2>'
            "<table><thead><tr><th>entity</th><th>status</th><th>last success</th>"
            "<th>lag</th><th>records/s</th><th>inbox</th><th>last error</th></tr></thead><tbody>"
            + "".join(_row(row, cells) for row, cells in group)
            + "</tbody></table></section>"
        )
    if not rows:
        parts.append("<p>No connection is configured (connections.yaml).</p>")
    return page(
        "Sync status · integration-assets",
        "".join(parts),
        nonce,
        nav("status", csrf),
        SCRIPT % refresh_seconds,
    )
