"""The demo org's data: the schema (objects, fields, picklists), the seeded rows, the database."""
