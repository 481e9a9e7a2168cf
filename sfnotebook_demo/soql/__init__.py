"""The demo org's SOQL: parser, resolver and SQLite engine, and the ``/query`` endpoints."""
