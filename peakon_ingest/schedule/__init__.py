"""When ingests run: the schedule, the daemon, the health check: see README.md."""
