-- Recount runs (replays of raw detections with another configuration) and
-- their crossings, kept apart from live counts and tagged by run id.

CREATE TABLE IF NOT EXISTS recount_runs (
    run_id         text        PRIMARY KEY,
    range_start    timestamptz NOT NULL,
    range_end      timestamptz NOT NULL,
    config_version text        NOT NULL,
    frames         bigint      NOT NULL,
    crossings      bigint      NOT NULL,
    summary        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS recount_crossings (
    run_id         text        NOT NULL,
    id             uuid        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    camera_id      text        NOT NULL,
    line_id        text        NOT NULL,
    track_id       bigint      NOT NULL,
    frame_seq      bigint      NOT NULL,
    direction      text        NOT NULL,
    from_zone      text        NOT NULL,
    to_zone        text        NOT NULL,
    config_version text        NOT NULL,
    PRIMARY KEY (id, occurred_at)
);
CREATE INDEX IF NOT EXISTS recount_crossings_run ON recount_crossings (run_id, line_id);
