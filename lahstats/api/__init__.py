"""The HTTP edge: app factory, controllers, schemas and the error mapping. Transport only: no SQL,
no business rules; handlers call services and return schemas."""

from lahstats.api.app import create_app

__all__ = ["create_app"]
