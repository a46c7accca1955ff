"""Alerts about failing syncs: one message per incident, one when it recovers.

`message` builds what is said (never a secret or personal data), `sinks` where it goes (a
Slack incoming webhook, or the log), `incidents` remembers what was already said, and
`alerter` ties them together. The Dagster sensors that call it are in
`orchestration/alerts.py`; nothing here knows Dagster.
"""
