"""Services the CLI and the API share: each ties the engine, storage and tools for one job."""
