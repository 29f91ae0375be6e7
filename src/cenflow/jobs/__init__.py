"""Durable tasks in the database and the worker that completes them."""
