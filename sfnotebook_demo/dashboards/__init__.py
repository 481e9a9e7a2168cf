"""The demo org's Dashboards REST API: dashboards over the seeded reports (see ``endpoints``)."""
