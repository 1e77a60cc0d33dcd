-- Raw facts and current state. Plain PostgreSQL; a later migration adds the
-- TimescaleDB path (hypertables, continuous aggregates) when the extension exists.

-- Unique keys include the time column: hypertables require it.
CREATE TABLE IF NOT EXISTS crossings (
    id             uuid        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    camera_id      text        NOT NULL,
    line_id        text        NOT NULL,
    track_id       bigint      NOT NULL,
    frame_seq      bigint      NOT NULL,
    direction      text        NOT NULL CHECK (direction IN ('in', 'out')),
    from_zone      text        NOT NULL,
    to_zone        text        NOT NULL,
    config_version text        NOT NULL,
    PRIMARY KEY (id, occurred_at)
);
CREATE INDEX IF NOT EXISTS crossings_line_time ON crossings (line_id, occurred_at);
CREATE INDEX IF NOT EXISTS crossings_camera_time ON crossings (camera_id, occurred_at);

-- Every occupancy change of every zone: the history of occupancy over time.
CREATE TABLE IF NOT EXISTS occupancy_samples (
    id        uuid        NOT NULL,
    at        timestamptz NOT NULL,
    zone_id   text        NOT NULL,
    occupancy integer     NOT NULL,
    entries   bigint      NOT NULL,
    exits     bigint      NOT NULL,
    version   bigint      NOT NULL,
    cause     text        NOT NULL,
    cause_id  uuid        NOT NULL,
    clamped   boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (id, at)
);
CREATE INDEX IF NOT EXISTS occupancy_samples_zone_time ON occupancy_samples (zone_id, at);

-- The newest state per zone. Written with a version guard, so a redelivered or
-- reordered older change never overwrites a newer one.
CREATE TABLE IF NOT EXISTS zone_occupancy (
    zone_id    text        PRIMARY KEY,
    occupancy  integer     NOT NULL,
    entries    bigint      NOT NULL,
    exits      bigint      NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);
