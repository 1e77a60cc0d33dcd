-- History on TimescaleDB: hypertables, hierarchical continuous aggregates
-- (minute -> hour -> day -> month) with real-time aggregation, refresh
-- policies, compression and retention of raw rows. Same relation names,
-- columns and rows as 002_history.plain.sql (see the column list there).
--
-- Late changes: the sink updates `level` of later raw rows of the zone; the
-- continuous aggregates' invalidation log picks that up, and the refresh
-- policies rewrite the affected buckets within a minute (minutes) to an hour
-- (days, months). Newer buckets than the last refresh come from raw rows at
-- query time (real-time aggregation).

CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('crossings', by_range('occurred_at', INTERVAL '1 day'),
                         migrate_data => true);
SELECT create_hypertable('occupancy_samples', by_range('at', INTERVAL '1 day'),
                         migrate_data => true);

-- Zones ---------------------------------------------------------------------
CREATE MATERIALIZED VIEW zone_history_minute
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT zone_id, time_bucket(INTERVAL '1 minute', at) AS bucket,
       sum(entered)::bigint AS entries, sum(exited)::bigint AS exits, sum(delta)::bigint AS net,
       sum(delta * extract(epoch FROM at - TIMESTAMPTZ 'epoch')) AS delta_epoch,
       min(at) AS first_at, max(at) AS last_at, min(level) AS min_level, max(level) AS max_level,
       -- the earliest change at the highest level
       first(at, extract(epoch FROM at - TIMESTAMPTZ 'epoch') - level::numeric * 1e13) AS peak_at,
       last(level, at) AS close_level,
       sum(entered + exited)::bigint AS peak_flow,
       -- the minute itself (time_bucket here would confuse the hierarchy)
       TIMESTAMPTZ 'epoch' + INTERVAL '1 minute'
           * floor(extract(epoch FROM min(at) - TIMESTAMPTZ 'epoch') / 60) AS peak_flow_at
FROM occupancy_samples
GROUP BY zone_id, time_bucket(INTERVAL '1 minute', at)
WITH NO DATA;

CREATE MATERIALIZED VIEW zone_history_hour
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT zone_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, sum(net)::bigint AS net,
       sum(delta_epoch) AS delta_epoch,
       min(first_at) AS first_at, max(last_at) AS last_at,
       min(min_level) AS min_level, max(max_level) AS max_level,
       first(peak_at, extract(epoch FROM peak_at - TIMESTAMPTZ 'epoch') - max_level::numeric * 1e13)
           AS peak_at,
       last(close_level, last_at) AS close_level,
       max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM zone_history_minute
GROUP BY zone_id, time_bucket(INTERVAL '1 hour', bucket)
WITH NO DATA;

CREATE MATERIALIZED VIEW zone_history_day
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT zone_id, time_bucket(INTERVAL '1 day', bucket, {{timezone}}) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, sum(net)::bigint AS net,
       sum(delta_epoch) AS delta_epoch,
       min(first_at) AS first_at, max(last_at) AS last_at,
       min(min_level) AS min_level, max(max_level) AS max_level,
       first(peak_at, extract(epoch FROM peak_at - TIMESTAMPTZ 'epoch') - max_level::numeric * 1e13)
           AS peak_at,
       last(close_level, last_at) AS close_level,
       max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM zone_history_{{day_source}}
GROUP BY zone_id, time_bucket(INTERVAL '1 day', bucket, {{timezone}})
WITH NO DATA;

CREATE MATERIALIZED VIEW zone_history_month
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT zone_id, time_bucket(INTERVAL '1 month', bucket, {{timezone}}) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, sum(net)::bigint AS net,
       sum(delta_epoch) AS delta_epoch,
       min(first_at) AS first_at, max(last_at) AS last_at,
       min(min_level) AS min_level, max(max_level) AS max_level,
       first(peak_at, extract(epoch FROM peak_at - TIMESTAMPTZ 'epoch') - max_level::numeric * 1e13)
           AS peak_at,
       last(close_level, last_at) AS close_level,
       max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM zone_history_day
GROUP BY zone_id, time_bucket(INTERVAL '1 month', bucket, {{timezone}})
WITH NO DATA;

-- Cameras -------------------------------------------------------------------
CREATE MATERIALIZED VIEW camera_history_minute
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT camera_id, time_bucket(INTERVAL '1 minute', occurred_at) AS bucket,
       count(*) FILTER (WHERE direction = 'in') AS entries,
       count(*) FILTER (WHERE direction = 'out') AS exits,
       count(*) AS peak_flow,
       TIMESTAMPTZ 'epoch' + INTERVAL '1 minute'
           * floor(extract(epoch FROM min(occurred_at) - TIMESTAMPTZ 'epoch') / 60) AS peak_flow_at
FROM crossings
GROUP BY camera_id, time_bucket(INTERVAL '1 minute', occurred_at)
WITH NO DATA;

CREATE MATERIALIZED VIEW camera_history_hour
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT camera_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM camera_history_minute
GROUP BY camera_id, time_bucket(INTERVAL '1 hour', bucket)
WITH NO DATA;

CREATE MATERIALIZED VIEW camera_history_day
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT camera_id, time_bucket(INTERVAL '1 day', bucket, {{timezone}}) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM camera_history_{{day_source}}
GROUP BY camera_id, time_bucket(INTERVAL '1 day', bucket, {{timezone}})
WITH NO DATA;

CREATE MATERIALIZED VIEW camera_history_month
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT camera_id, time_bucket(INTERVAL '1 month', bucket, {{timezone}}) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM camera_history_day
GROUP BY camera_id, time_bucket(INTERVAL '1 month', bucket, {{timezone}})
WITH NO DATA;

-- Lines ---------------------------------------------------------------------
CREATE MATERIALIZED VIEW line_history_minute
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT line_id, time_bucket(INTERVAL '1 minute', occurred_at) AS bucket,
       count(*) FILTER (WHERE direction = 'in') AS entries,
       count(*) FILTER (WHERE direction = 'out') AS exits,
       count(*) AS peak_flow,
       TIMESTAMPTZ 'epoch' + INTERVAL '1 minute'
           * floor(extract(epoch FROM min(occurred_at) - TIMESTAMPTZ 'epoch') / 60) AS peak_flow_at
FROM crossings
GROUP BY line_id, time_bucket(INTERVAL '1 minute', occurred_at)
WITH NO DATA;

CREATE MATERIALIZED VIEW line_history_hour
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT line_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM line_history_minute
GROUP BY line_id, time_bucket(INTERVAL '1 hour', bucket)
WITH NO DATA;

CREATE MATERIALIZED VIEW line_history_day
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT line_id, time_bucket(INTERVAL '1 day', bucket, {{timezone}}) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM line_history_{{day_source}}
GROUP BY line_id, time_bucket(INTERVAL '1 day', bucket, {{timezone}})
WITH NO DATA;

CREATE MATERIALIZED VIEW line_history_month
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT line_id, time_bucket(INTERVAL '1 month', bucket, {{timezone}}) AS bucket,
       sum(entries)::bigint AS entries, sum(exits)::bigint AS exits, max(peak_flow) AS peak_flow,
       first(peak_flow_at,
             extract(epoch FROM peak_flow_at - TIMESTAMPTZ 'epoch') - peak_flow::numeric * 1e13)
           AS peak_flow_at
FROM line_history_day
GROUP BY line_id, time_bucket(INTERVAL '1 month', bucket, {{timezone}})
WITH NO DATA;

-- Refresh policies. Minute aggregates read raw rows: their window (7 days)
-- stays well inside raw retention ({{raw_retention}}, checked by schemas/migrate.py),
-- so a refresh never finds dropped raw rows and never loses aggregates.
-- Coarser aggregates read the level below, which is kept forever.
SELECT add_continuous_aggregate_policy(v, start_offset => INTERVAL '7 days',
                                       end_offset => NULL, schedule_interval => INTERVAL '1 minute')
FROM unnest(ARRAY['zone_history_minute', 'camera_history_minute', 'line_history_minute']) AS v;
SELECT add_continuous_aggregate_policy(v, start_offset => INTERVAL '7 days',
                                       end_offset => NULL, schedule_interval => INTERVAL '5 minutes')
FROM unnest(ARRAY['zone_history_hour', 'camera_history_hour', 'line_history_hour']) AS v;
SELECT add_continuous_aggregate_policy(v, start_offset => INTERVAL '40 days',
                                       end_offset => NULL, schedule_interval => INTERVAL '30 minutes')
FROM unnest(ARRAY['zone_history_day', 'camera_history_day', 'line_history_day']) AS v;
SELECT add_continuous_aggregate_policy(v, start_offset => INTERVAL '400 days',
                                       end_offset => NULL, schedule_interval => INTERVAL '1 hour')
FROM unnest(ARRAY['zone_history_month', 'camera_history_month', 'line_history_month']) AS v;

-- Raw rows: compressed after a week (late events older than that are rare and
-- still accepted), dropped after the retention period.
ALTER TABLE crossings SET (timescaledb.compress,
                           timescaledb.compress_segmentby = 'camera_id',
                           timescaledb.compress_orderby = 'occurred_at, id');
ALTER TABLE occupancy_samples SET (timescaledb.compress,
                                   timescaledb.compress_segmentby = 'zone_id',
                                   timescaledb.compress_orderby = 'at, id');
-- Their first runs wait an hour: schemas/migrate.py first materialises any raw
-- rows the database already had (older than retention, say), right after
-- this transaction commits.
SELECT add_compression_policy(t, compress_after => INTERVAL '7 days',
                              initial_start => now() + INTERVAL '1 hour')
FROM unnest(ARRAY['crossings', 'occupancy_samples']) AS t;
SELECT add_retention_policy(t, drop_after => {{raw_retention}},
                            initial_start => now() + INTERVAL '1 hour')
FROM unnest(ARRAY['crossings', 'occupancy_samples']) AS t;
