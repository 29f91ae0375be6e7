"""Persistence: tables, the database handle and unit of work, repositories, migrations."""
