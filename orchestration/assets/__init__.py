"""Dagster assets of the daily refresh, in graph order: landing loads -> dbt (staging, ODS, snapshots,
warehouse, marts) -> Python models -> warehouse checks -> publish."""
