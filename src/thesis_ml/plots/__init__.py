"""Figures drawn from a run's facts."""
