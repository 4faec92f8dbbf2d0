"""What every job gets: the shared resources of the process that runs it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from lahstats.jobs.analysis import ModelCache
from lahstats.settings import Settings
from lahstats.storage.blobs import BlobStore
from lahstats.storage.database import Database


@dataclass
class JobResources:
    settings: Settings
    database: Database
    blobs: BlobStore
    worker_name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    models: ModelCache = field(init=False)  # loaded on a job's first use, once per process

    def __post_init__(self) -> None:
        self.models = ModelCache(self.settings)


RESOURCES_KEY = "resources"
