-- History, part common to both storage paths. schemas/migrate.py runs this file,
-- then 002_history.plain.sql or 002_history.timescaledb.sql in the same
-- transaction, and fills in the placeholders in double braces (chosen once, here, for the
-- life of the database).
--
-- Zone history is event-time history: a late crossing changes the occupancy
-- at the moment it happened, not at the moment it arrived. The sink derives
-- three columns per occupancy change from the change before it (by version,
-- i.e. in the order the zone's reducer applied them):
--   delta    occupancy change (+1, -1, 0 for a clamped exit, any for a correction)
--   entered  increment of the cumulative entries (0 or 1)
--   exited   increment of the cumulative exits (0 or 1)
-- and one column from every change of the zone at or before it in event time:
--   level    occupancy at that instant: sum of delta over at <= this at.
-- Changes at the same instant share one level. A late change moves the level
-- of every later change of its zone; the sink updates those rows in the same
-- transaction. The sum of all deltas is the live occupancy in zone_occupancy.

CREATE TABLE history_settings (
    singleton     boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    backend       text        NOT NULL CHECK (backend IN ('plain', 'timescaledb')),
    -- IANA zone of day and month buckets: the plant's time zone at migration.
    timezone      text        NOT NULL,
    -- Day buckets are built from hour buckets when every UTC hour lies inside
    -- one local day (whole-hour UTC offsets), else from minute buckets.
    day_source    text        NOT NULL CHECK (day_source IN ('hour', 'minute')),
    raw_retention interval    NOT NULL
);
INSERT INTO history_settings (backend, timezone, day_source, raw_retention)
VALUES ({{backend}}, {{timezone}}, '{{day_source}}', {{raw_retention}});

ALTER TABLE occupancy_samples
    ADD COLUMN delta   integer,
    ADD COLUMN entered integer,
    ADD COLUMN exited  integer,
    ADD COLUMN level   integer;

-- Rows written before this migration.
WITH d AS (
    SELECT id, at,
           occupancy - lag(occupancy, 1, 0) OVER w AS delta,
           entries - lag(entries, 1, 0::bigint) OVER w AS entered,
           exits - lag(exits, 1, 0::bigint) OVER w AS exited
    FROM occupancy_samples
    WINDOW w AS (PARTITION BY zone_id ORDER BY version)
)
UPDATE occupancy_samples o SET delta = d.delta, entered = d.entered, exited = d.exited
FROM d WHERE o.id = d.id AND o.at = d.at;
WITH l AS (
    SELECT id, at,
           sum(delta) OVER (PARTITION BY zone_id ORDER BY at RANGE UNBOUNDED PRECEDING) AS level
    FROM occupancy_samples
)
UPDATE occupancy_samples o SET level = l.level FROM l WHERE o.id = l.id AND o.at = l.at;

ALTER TABLE occupancy_samples
    ALTER COLUMN delta SET NOT NULL,
    ALTER COLUMN entered SET NOT NULL,
    ALTER COLUMN exited SET NOT NULL,
    ALTER COLUMN level SET NOT NULL;

-- Per zone, the newest event time among its stored changes and the level
-- there. A batch whose changes all come later (the usual case) extends the
-- levels from here without reading raw rows; retention never drops it.
CREATE TABLE occupancy_tail (
    zone_id text        PRIMARY KEY,
    at      timestamptz NOT NULL,
    level   integer     NOT NULL
);
INSERT INTO occupancy_tail (zone_id, at, level)
SELECT DISTINCT ON (zone_id) zone_id, at, level FROM occupancy_samples ORDER BY zone_id, at DESC;

-- The zone's state right before the change with version p_version: normally
-- the newest state in zone_occupancy; after a gap in versions, the newest
-- stored change below p_version; for a zone's first change, zeros.
CREATE FUNCTION occupancy_before(p_zone text, p_version bigint,
                                 OUT occupancy integer, OUT entries bigint, OUT exits bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT z.occupancy, z.entries, z.exits INTO occupancy, entries, exits
    FROM zone_occupancy z WHERE z.zone_id = p_zone AND z.version = p_version - 1;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT s.occupancy, s.entries, s.exits INTO occupancy, entries, exits
    FROM occupancy_samples s WHERE s.zone_id = p_zone AND s.version < p_version
    ORDER BY s.version DESC LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT z.occupancy, z.entries, z.exits INTO occupancy, entries, exits
    FROM zone_occupancy z WHERE z.zone_id = p_zone AND z.version < p_version;
    IF NOT FOUND THEN
        occupancy := 0; entries := 0; exits := 0;
    END IF;
END $$;

-- The zone's event-time occupancy just before p_since: the level of the last
-- stored change before it; where raw rows are gone (retention), the live
-- occupancy minus every stored delta from p_since on.
CREATE FUNCTION occupancy_level_before(p_zone text, p_since timestamptz)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
    result integer;
BEGIN
    SELECT s.level INTO result FROM occupancy_samples s
    WHERE s.zone_id = p_zone AND s.at < p_since ORDER BY s.at DESC LIMIT 1;
    IF FOUND THEN
        RETURN result;
    END IF;
    SELECT coalesce((SELECT z.occupancy FROM zone_occupancy z WHERE z.zone_id = p_zone), 0)
         - coalesce((SELECT sum(s.delta) FROM occupancy_samples s
                     WHERE s.zone_id = p_zone AND s.at >= p_since), 0)
    INTO result;
    RETURN result;
END $$;
