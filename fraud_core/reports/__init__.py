"""Rendering, and only rendering: every PNG and HTML page the platform writes, one module per
report over the figures its domain module computes (`figures.py`: what they share)."""
