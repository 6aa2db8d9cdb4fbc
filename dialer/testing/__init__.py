"""Helpers that let tests and benchmarks run against real infrastructure instead of mocks."""
