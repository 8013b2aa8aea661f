"""The build history: every validate (and a summary of every audit) recorded in a store,
SQLite by default or PostgreSQL, read back as KPIs, regression gates and an HTML report.

Nothing is imported here: the CLI loads each module when a command needs it.
"""
