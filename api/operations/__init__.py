"""Operations on zones: calibration (a counted occupancy, with who and why)."""

from api.operations.mutations import Calibration, OperationsMutation

__all__ = ["Calibration", "OperationsMutation"]
