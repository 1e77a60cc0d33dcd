"""Operations on zones: calibration (a counted occupancy, with who and why).

Imports :mod:`schemas` and the API's own modules; publishes to Kafka."""

from api.operations.mutations import Calibration, OperationsMutation

__all__ = ["Calibration", "OperationsMutation"]
