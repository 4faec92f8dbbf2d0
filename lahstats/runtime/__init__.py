"""What one process runs on: its resources (``resources.Runtime``: database, blobs, queue, rate
limiter, upload prober, workers, models), their health, per-user rate limits, and the periodic
loops that sweep, retain and dispatch.

``resources`` and ``health`` compose the whole service; ``threads`` and ``periodic`` are ground
floor (the standard library only) and ``ratelimit`` infrastructure (settings and errors), so
services may use them. This file imports nothing.
"""
