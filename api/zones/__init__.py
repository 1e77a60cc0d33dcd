"""Zones: live occupancy, entries and exits.

Imports :mod:`schemas` and the API's own modules."""

from api.zones.queries import ZoneQuery
from api.zones.subscriptions import ZoneSubscription
from api.zones.types import OccupancyUpdate, Zone

__all__ = ["OccupancyUpdate", "Zone", "ZoneQuery", "ZoneSubscription"]
