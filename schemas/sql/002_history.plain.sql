-- History on plain PostgreSQL: views and rollup tables with the same names,
-- columns and rows as the continuous aggregates of 002_history.timescaledb.sql.
--
--   minutes  views over raw rows (an expression index makes a range of
--            minutes an index range scan), so the sink writes nothing per minute
--   hours    tables; the sink calls history_refresh_zones /
--            history_refresh_crossings in the transaction that writes raw rows,
--            with every (key, hour) whose raw rows it inserted or changed, and
--            they recompute those hours from raw rows (through the minute
--            views): recompute, never increment, so a redelivered or replayed
--            batch cannot count twice
--   days, months  views over the hour tables (the minute views where the UTC
--            offset is not a whole number of hours), with expression indexes
--
-- Columns (keep in step with the TimescaleDB file):
--   bucket        start: minutes and hours in UTC, days and months in {{timezone}}
--   entries/exits zones: sum of entered/exited; cameras, lines: crossings in/out
--   net           sum of delta                          (zones)
--   delta_epoch   sum of delta * epoch seconds of at    (zones; for the time-weighted average)
--   first_at, last_at                                   (zones; earliest and newest change)
--   min_level, max_level  extremes of level over the bucket's changes (zones; the
--                 occupancy carried in from before the first change is added at query time)
--   peak_at       earliest change at max_level           (zones)
--   close_level   level after the bucket's last change  (zones)
--   peak_flow     most entries + exits in one minute of the bucket
--   peak_flow_at  earliest minute with peak_flow

CREATE INDEX occupancy_samples_zone_minute
    ON occupancy_samples (zone_id, date_bin('1 minute', at, TIMESTAMPTZ '2000-01-01 00:00+00'));
CREATE INDEX crossings_camera_minute
    ON crossings (camera_id, date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00'));
CREATE INDEX crossings_line_minute
    ON crossings (line_id, date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00'));

CREATE VIEW zone_history_minute AS
SELECT zone_id, date_bin('1 minute', at, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket,
       sum(entered)::bigint AS entries, sum(exited)::bigint AS exits, sum(delta)::bigint AS net,
       sum(delta * extract(epoch FROM at - TIMESTAMPTZ 'epoch')) AS delta_epoch,
       min(at) AS first_at, max(at) AS last_at, min(level) AS min_level, max(level) AS max_level,
       (array_agg(at ORDER BY level DESC, at))[1] AS peak_at,
       (array_agg(level ORDER BY at DESC))[1] AS close_level,
       sum(entered + exited)::bigint AS peak_flow,
       date_bin('1 minute', at, TIMESTAMPTZ '2000-01-01 00:00+00') AS peak_flow_at
FROM occupancy_samples
GROUP BY zone_id, date_bin('1 minute', at, TIMESTAMPTZ '2000-01-01 00:00+00');

CREATE VIEW camera_history_minute AS
SELECT camera_id, date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket,
       count(*) FILTER (WHERE direction = 'in') AS entries,
       count(*) FILTER (WHERE direction = 'out') AS exits,
       count(*) AS peak_flow,
       date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS peak_flow_at
FROM crossings
GROUP BY camera_id, date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00');

CREATE VIEW line_history_minute AS
SELECT line_id, date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket,
       count(*) FILTER (WHERE direction = 'in') AS entries,
       count(*) FILTER (WHERE direction = 'out') AS exits,
       count(*) AS peak_flow,
       date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS peak_flow_at
FROM crossings
GROUP BY line_id, date_bin('1 minute', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00');

CREATE TABLE zone_history_hour (
    zone_id text NOT NULL, bucket timestamptz NOT NULL,
    entries bigint NOT NULL, exits bigint NOT NULL, net bigint NOT NULL,
    delta_epoch numeric NOT NULL, first_at timestamptz NOT NULL, last_at timestamptz NOT NULL,
    min_level integer NOT NULL, max_level integer NOT NULL, peak_at timestamptz NOT NULL,
    close_level integer NOT NULL, peak_flow bigint NOT NULL, peak_flow_at timestamptz NOT NULL,
    PRIMARY KEY (zone_id, bucket)
);
CREATE TABLE camera_history_hour (
    camera_id text NOT NULL, bucket timestamptz NOT NULL,
    entries bigint NOT NULL, exits bigint NOT NULL,
    peak_flow bigint NOT NULL, peak_flow_at timestamptz NOT NULL,
    PRIMARY KEY (camera_id, bucket)
);
CREATE TABLE line_history_hour (
    line_id text NOT NULL, bucket timestamptz NOT NULL,
    entries bigint NOT NULL, exits bigint NOT NULL,
    peak_flow bigint NOT NULL, peak_flow_at timestamptz NOT NULL,
    PRIMARY KEY (line_id, bucket)
);

-- Days and months: local midnight in an immutable form, so it can be indexed
-- (equal to date_trunc(unit, bucket, timezone)).
CREATE INDEX zone_history_hour_day
    ON zone_history_hour (zone_id, (date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}}));
CREATE VIEW zone_history_day AS
SELECT zone_id, date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}} AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, sum(net)::bigint AS net,
       sum(delta_epoch) AS delta_epoch,
       min(first_at) AS first_at, max(last_at) AS last_at,
       min(min_level) AS min_level, max(max_level) AS max_level,
       (array_agg(peak_at ORDER BY max_level DESC, peak_at))[1] AS peak_at,
       (array_agg(close_level ORDER BY last_at DESC))[1] AS close_level,
       max(peak_flow) AS peak_flow,
       (array_agg(peak_flow_at ORDER BY peak_flow DESC, peak_flow_at))[1] AS peak_flow_at
FROM zone_history_{{day_source}}
GROUP BY zone_id, date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}};

CREATE INDEX zone_history_hour_month
    ON zone_history_hour (zone_id, (date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}}));
CREATE VIEW zone_history_month AS
SELECT zone_id, date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}} AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, sum(net)::bigint AS net,
       sum(delta_epoch) AS delta_epoch,
       min(first_at) AS first_at, max(last_at) AS last_at,
       min(min_level) AS min_level, max(max_level) AS max_level,
       (array_agg(peak_at ORDER BY max_level DESC, peak_at))[1] AS peak_at,
       (array_agg(close_level ORDER BY last_at DESC))[1] AS close_level,
       max(peak_flow) AS peak_flow,
       (array_agg(peak_flow_at ORDER BY peak_flow DESC, peak_flow_at))[1] AS peak_flow_at
FROM zone_history_{{day_source}}
GROUP BY zone_id, date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}};

CREATE INDEX camera_history_hour_day
    ON camera_history_hour (camera_id, (date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}}));
CREATE VIEW camera_history_day AS
SELECT camera_id, date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}} AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       (array_agg(peak_flow_at ORDER BY peak_flow DESC, peak_flow_at))[1] AS peak_flow_at
FROM camera_history_{{day_source}}
GROUP BY camera_id, date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}};

CREATE INDEX camera_history_hour_month
    ON camera_history_hour (camera_id, (date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}}));
CREATE VIEW camera_history_month AS
SELECT camera_id, date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}} AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       (array_agg(peak_flow_at ORDER BY peak_flow DESC, peak_flow_at))[1] AS peak_flow_at
FROM camera_history_{{day_source}}
GROUP BY camera_id, date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}};

CREATE INDEX line_history_hour_day
    ON line_history_hour (line_id, (date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}}));
CREATE VIEW line_history_day AS
SELECT line_id, date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}} AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       (array_agg(peak_flow_at ORDER BY peak_flow DESC, peak_flow_at))[1] AS peak_flow_at
FROM line_history_{{day_source}}
GROUP BY line_id, date_trunc('day', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}};

CREATE INDEX line_history_hour_month
    ON line_history_hour (line_id, (date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}}));
CREATE VIEW line_history_month AS
SELECT line_id, date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}} AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       (array_agg(peak_flow_at ORDER BY peak_flow DESC, peak_flow_at))[1] AS peak_flow_at
FROM line_history_{{day_source}}
GROUP BY line_id, date_trunc('month', bucket AT TIME ZONE {{timezone}}) AT TIME ZONE {{timezone}};

-- Zones: p_zones[i] changed in the UTC hour starting at p_hours[i].
CREATE FUNCTION history_refresh_zones(p_zones text[], p_hours timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO zone_history_hour
    SELECT t.zone_id, t.bucket, a.*
    FROM (SELECT DISTINCT k, h FROM unnest(p_zones, p_hours) AS u (k, h)) AS t (zone_id, bucket)
    CROSS JOIN LATERAL (
        SELECT sum(m.entries), sum(m.exits), sum(m.net), sum(m.delta_epoch),
               min(m.first_at), max(m.last_at), min(m.min_level), max(m.max_level),
               (array_agg(m.peak_at ORDER BY m.max_level DESC, m.peak_at))[1],
               (array_agg(m.close_level ORDER BY m.last_at DESC))[1],
               max(m.peak_flow),
               (array_agg(m.peak_flow_at ORDER BY m.peak_flow DESC, m.peak_flow_at))[1]
        FROM zone_history_minute m
        WHERE m.zone_id = t.zone_id AND m.bucket >= t.bucket AND m.bucket < t.bucket + INTERVAL '1 hour'
        HAVING count(*) > 0
    ) AS a
    ON CONFLICT (zone_id, bucket) DO UPDATE SET
        entries = EXCLUDED.entries, exits = EXCLUDED.exits, net = EXCLUDED.net,
        delta_epoch = EXCLUDED.delta_epoch, first_at = EXCLUDED.first_at,
        last_at = EXCLUDED.last_at, min_level = EXCLUDED.min_level,
        max_level = EXCLUDED.max_level, peak_at = EXCLUDED.peak_at,
        close_level = EXCLUDED.close_level, peak_flow = EXCLUDED.peak_flow,
        peak_flow_at = EXCLUDED.peak_flow_at;
END $$;

-- Cameras and lines: crossing i was counted by p_cameras[i] on p_lines[i] in
-- the UTC hour starting at p_hours[i].
CREATE FUNCTION history_refresh_crossings(
    p_cameras text[], p_lines text[], p_hours timestamptz[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camera_history_hour
    SELECT t.camera_id, t.bucket, a.*
    FROM (SELECT DISTINCT k, h FROM unnest(p_cameras, p_hours) AS u (k, h)) AS t (camera_id, bucket)
    CROSS JOIN LATERAL (
        SELECT sum(m.entries), sum(m.exits), max(m.peak_flow),
               (array_agg(m.peak_flow_at ORDER BY m.peak_flow DESC, m.peak_flow_at))[1]
        FROM camera_history_minute m
        WHERE m.camera_id = t.camera_id AND m.bucket >= t.bucket AND m.bucket < t.bucket + INTERVAL '1 hour'
        HAVING count(*) > 0
    ) AS a
    ON CONFLICT (camera_id, bucket) DO UPDATE SET
        entries = EXCLUDED.entries, exits = EXCLUDED.exits,
        peak_flow = EXCLUDED.peak_flow, peak_flow_at = EXCLUDED.peak_flow_at;

    INSERT INTO line_history_hour
    SELECT t.line_id, t.bucket, a.*
    FROM (SELECT DISTINCT k, h FROM unnest(p_lines, p_hours) AS u (k, h)) AS t (line_id, bucket)
    CROSS JOIN LATERAL (
        SELECT sum(m.entries), sum(m.exits), max(m.peak_flow),
               (array_agg(m.peak_flow_at ORDER BY m.peak_flow DESC, m.peak_flow_at))[1]
        FROM line_history_minute m
        WHERE m.line_id = t.line_id AND m.bucket >= t.bucket AND m.bucket < t.bucket + INTERVAL '1 hour'
        HAVING count(*) > 0
    ) AS a
    ON CONFLICT (line_id, bucket) DO UPDATE SET
        entries = EXCLUDED.entries, exits = EXCLUDED.exits,
        peak_flow = EXCLUDED.peak_flow, peak_flow_at = EXCLUDED.peak_flow_at;
END $$;

-- Rows written before this migration.
SELECT history_refresh_zones(array_agg(zone_id), array_agg(hour))
FROM (SELECT DISTINCT zone_id, date_bin('1 hour', at, TIMESTAMPTZ '2000-01-01 00:00+00') AS hour
      FROM occupancy_samples) AS t;
SELECT history_refresh_crossings(array_agg(camera_id), array_agg(line_id), array_agg(hour))
FROM (SELECT DISTINCT camera_id, line_id,
             date_bin('1 hour', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS hour
      FROM crossings) AS t;
