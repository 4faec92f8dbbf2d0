"""Persistence: the database (models, repositories, unit of work) and blob storage (local, S3).

Nothing here knows about HTTP or about models of speech.
"""
