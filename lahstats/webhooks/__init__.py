"""Webhooks: a group's URLs, told when one of its sessions is ready to claim, failed or completed.

    status change ──same transaction──> outbox.py (pending deliveries)
    dispatch.py (every process) ──claim, sign (signing.py), POST──> receiver; retried with backoff
    urls.py: what a webhook may point at (http(s), no credentials, no private hosts in production)
    registry.py: register / list / delete, and the delivery log, for the API

Sending never happens inside a job or a request, so a slow or dead receiver delays nothing else.
"""
