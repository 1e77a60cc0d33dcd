-- Alerts (one row per condition, resolved in place) and the audit trail of
-- commands (calibrations and scheduled resets). Low volume: plain tables on
-- both the PostgreSQL and the TimescaleDB path.

CREATE TABLE IF NOT EXISTS alerts (
    alert_id       uuid             PRIMARY KEY,
    kind           text             NOT NULL,
    severity       text             NOT NULL,
    subject_type   text             NOT NULL,
    subject_id     text             NOT NULL,
    message        text             NOT NULL,
    value          double precision,
    threshold      double precision,
    raised_at      timestamptz      NOT NULL,
    resolved_at    timestamptz,
    resolved_by    text,
    resolve_reason text
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (raised_at) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_subject ON alerts (subject_id, raised_at);

CREATE TABLE IF NOT EXISTS commands (
    id        uuid        NOT NULL,
    at        timestamptz NOT NULL,
    type      text        NOT NULL,
    zone_id   text        NOT NULL,
    occupancy integer     NOT NULL,
    by        text        NOT NULL,
    reason    text        NOT NULL,
    PRIMARY KEY (id, at)
);
CREATE INDEX IF NOT EXISTS commands_zone_time ON commands (zone_id, at);
