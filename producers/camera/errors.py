"""Errors of the camera producer: one root, one-line subclasses."""

from __future__ import annotations

__all__ = ["CameraProducerError", "ConfigurationError", "DetectorError", "SourceError"]


class CameraProducerError(Exception):
    """Root of every error the camera producer raises on purpose."""


class ConfigurationError(CameraProducerError):
    """The settings cannot work (unknown camera, missing weights, bad source)."""


class SourceError(CameraProducerError):
    """A capture source cannot be opened or read; says which source and why."""


class DetectorError(CameraProducerError):
    """The detector or tracker failed on a frame, or could not be loaded."""
