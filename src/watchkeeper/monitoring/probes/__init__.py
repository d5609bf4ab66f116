"""The probes room: monitors and what they see.

A monitor is one probe spec (probes/kinds/: http, tcp, dns, tls, command, prometheus, scrape)
or a heartbeat, plus its schedule, locations and quorum. service.py creates, changes and reads
monitors and runs one check on demand; the runner (runner.py) claims probe slots and hands
results to results.py; heartbeats.py records pings and takes down late heartbeats; history.py
reads results and uptime. Up/down decisions are pure (_state.py, _schedule.py, _heartbeat.py).
"""
