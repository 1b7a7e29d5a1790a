"""Identify mode (1:N): kiosks, the gallery and the threshold for N."""
