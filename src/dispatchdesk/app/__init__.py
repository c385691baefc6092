"""The application: entry point, composition root, configuration, paths and logging."""
