"""The demo org's Bulk API 2.0 query jobs: their life cycle and their CSV result pages."""
