"""The metrics room: the embedded metrics store (series, raw samples, roll-ups, retention), the
rule language that queries it, and alert rules evaluated over it or over a Prometheus server.
"""
