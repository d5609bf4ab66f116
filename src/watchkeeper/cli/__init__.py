"""The command line: a Typer root app with global options; each domain's cli.py is mounted here."""
