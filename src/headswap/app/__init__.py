"""The app shell every job runs in: how a job starts and ends (``launch``), the config schemas and
resolvers (``schema``, ``job_dirs``), checks made before any work (``checks``), the process (``runtime``)."""
