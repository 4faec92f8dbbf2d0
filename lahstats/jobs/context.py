"""What every job gets: the shared resources of the process that runs it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from lahstats.settings import Settings
from lahstats.storage.blobs import BlobStore
from lahstats.storage.database import Database


@dataclass
class JobResources:
    settings: Settings
    database: Database
    blobs: BlobStore
    worker_name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


RESOURCES_KEY = "resources"
