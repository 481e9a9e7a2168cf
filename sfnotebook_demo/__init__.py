"""The demo org: a local, Salesforce-compatible HTTPS server for tests, notebooks and benchmarks.

Import :class:`DemoOrg` from here; this is its one documented place (it is defined in
:mod:`sfnotebook_demo.org`, and the modules below are its implementation):

>>> from sfnotebook_demo import DemoOrg
>>> with DemoOrg(opportunities=5_000) as demo:          # doctest: +SKIP
...     print(demo.url, demo.ca_bundle)
...     env = demo.env()   # SF_DOMAIN, SF_CONSUMER_KEY, SF_CONSUMER_SECRET, SF_CA_BUNDLE

What it serves (HTTPS on 127.0.0.1 only, a throwaway CA per start; plain HTTP is refused):

* ``POST /services/oauth2/token`` (client credentials, every error of the reference's table),
  ``/revoke``, ``/introspect``, ``/userinfo`` and the identity URL ``/id/{org}/{user}``;
  ``localhost:PORT`` (:attr:`DemoOrg.login_domain`) plays ``login.salesforce.com``.
* ``GET /services/data/`` (versions 31.0-68.0), ``/services/data/vXX.X/`` and ``/limits``,
  with ``Sforce-Limit-Info`` on every counted API call; retired versions answer 410.
* Whatever the feature modules register: sObjects/describe, query, reports, Bulk API 2.0
  query and ingest jobs (ingest writes go to the org's own copy of its data).
* Faults on demand (:class:`~sfnotebook_demo.faults.FaultConfig`): latency, 503s, dropped
  connections, session expiry, ``REQUEST_LIMIT_EXCEEDED``, expired query locators, report
  time-outs and slow runs, failed Bulk jobs; :meth:`DemoOrg.set_faults`, :meth:`DemoOrg.stats`.
* Hourly limits as Salesforce counts them (500 sync / 1,200 async report runs, refused with
  its 403 when spent); :meth:`DemoOrg.set_limits` sets what remains.
* A dialect (:class:`~sfnotebook_demo.dialect.Dialect`): one switch per behaviour Salesforce
  leaves unknown, documented behaviour by default; :meth:`DemoOrg.set_dialect`.

From a terminal: ``sfnotebook demo-org`` (or ``python -m sfnotebook_demo``, see
:mod:`sfnotebook_demo.__main__`) runs one in the foreground and writes ``.env.demo``.

Where things are:

* top level: :mod:`~sfnotebook_demo.org` (``DemoOrg``, the handle that starts a server in a
  thread or a subprocess), :mod:`~sfnotebook_demo.server` (``DemoServer``: the CA, the
  listener, the table of feature routes), :mod:`~sfnotebook_demo.dispatch` (per request:
  faults, API version, routing, auth, limits), :mod:`~sfnotebook_demo.transport` (TLS, bodies, chunking, gzip),
  :mod:`~sfnotebook_demo.http` (``Request``, ``Response``, ``Router``),
  :mod:`~sfnotebook_demo.faults` (``FaultConfig``), :mod:`~sfnotebook_demo.state` (the
  ``OrgState`` every feature registers against), :mod:`~sfnotebook_demo.ids` (record ids);
* ``data/``: the schema (objects, fields, picklists), the seeded rows and the cached SQLite
  database they are served from;
* ``rest/``: OAuth and connected apps, versions and limits, sObjects and describe;
* ``soql/``: the SOQL parser, resolver and SQLite engine, the ``/query`` endpoints, cursors;
* ``reports/``: the Analytics reports API: definitions, filters, runs and their factMaps;
* ``bulk/``: Bulk API 2.0 query jobs, their life cycle and their CSV result pages; ingest
  jobs (``ingest*.py``), their row checks and writes.

The demo org imports nothing from the client, :mod:`sfnotebook` (and the client nothing from
it; ``tests/test_architecture.py`` checks both): both follow the Salesforce wire format on
their own, so a bug cannot hide in shared code.
"""

from __future__ import annotations

from sfnotebook_demo.org import CONFIG_ENV, DemoOrg, DemoOrgError

__all__ = ["CONFIG_ENV", "DemoOrg", "DemoOrgError"]
