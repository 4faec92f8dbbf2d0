"""What one process runs on: its resources (``resources.Runtime``: database, blobs, queue, rate
limiter, upload prober, workers, models), their health, per-user rate limits, and the periodic
loops that sweep, retain and dispatch.

``resources`` and ``health`` compose the whole service; ``ratelimit`` and ``periodic`` are ground
floor (settings and errors only), so services may use them. This file imports nothing.
"""
