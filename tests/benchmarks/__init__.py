"""Tests of the benchmark suite (it runs; it never asserts timings)."""
