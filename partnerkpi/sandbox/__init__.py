"""The CRM sandbox: Salesforce and HubSpot emulations over HTTPS on 127.0.0.1, seeded partner data,
call counters, latency, limits and injected faults.

Entry points:

- ``partnerkpi.sandbox.app.build_sandbox(seed, partners, opportunities, latency_ms, faults, state_dir,
  hubspot)`` -> a :class:`~partnerkpi.sandbox.core.Sandbox` (``.start()`` / ``with``); ``serve(...)``
  for ``partnerkpi sandbox serve`` (writes ``sandbox-config.yaml`` next to the CA).
- ``partnerkpi.sandbox.testing``: the pytest fixtures ``sandbox``, ``sandbox_factory``, ``faults_reset``
  and ``salesforce_session(sandbox)`` (a requests session trusting the CA that routes the SDK's
  ``https://*.salesforce.com`` logins to the sandbox).
- ``partnerkpi.sandbox.generator.generate(seed, partners, opportunities)`` -> ``SeedData``.

Salesforce sandbox credentials (``SalesforceCredentials`` defaults; test values, not secrets):
username ``partner-ops@example.com``, password ``sandbox-password``, security token
``SANDBOXTOKEN0000``, consumer key ``3MVG9partnerkpi.sandbox.consumer.key``, consumer secret
``sandbox-consumer-secret``, refresh token ``5Aep861partnerkpi.sandbox.refresh.token``; JWT bearer
accepts any RS256 assertion with the right iss/sub/aud/exp unless a public key is registered
(``SalesforceEmulation.register_jwt_key`` or ``POST /__admin__/salesforce/register_jwt_key``), then
checks the signature too.

Admin API (``/__admin__``): ``GET counters``, ``POST counters/reset``, ``GET|POST {emulation}/faults``
and ``POST {emulation}/{action}``; Salesforce actions: ``update_opportunity {id, fields}``,
``delete_opportunity {id}``, ``create_opportunity {fields}``, ``update_account {id, fields}``,
``state {object, ids | soql}``, ``set_usage {used}``, ``expire_sessions``, ``register_jwt_key``.
"""
