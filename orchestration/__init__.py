"""Dagster wiring: the one Definitions, jobs, schedules, sensors and resources per environment."""
