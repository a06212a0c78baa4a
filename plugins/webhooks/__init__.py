"""Outbound webhooks (plugin ``webhooks``): signed HTTP deliveries of the core's after-commit events.

Integrators subscribe a URL to event types; every event writes one delivery row per subscription and a
Celery task POSTs it, signed like Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256>``), retried with exponential backoff, logged per attempt,
replayable, and the subscription is switched off after too many failures in a row.
"""
