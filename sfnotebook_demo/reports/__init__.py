"""The demo org's Analytics reports API: definitions, filters, runs and their factMaps."""
