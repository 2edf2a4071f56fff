-- PostgreSQL translation of migrations/sqlite/20261124000002_stats_rollups.sql.
-- Roll-ups for the statistics: a year of a million visits is read from a
-- few thousand rows instead of scanned. Triggers keep them exact for every
-- writer; a bulk load may pause them (settings key 'rollups_paused') and
-- rebuild them afterwards in one pass.
--
-- Translation notes:
--  * SQLite's trigger WHEN NOT EXISTS (SELECT ... 'rollups_paused') has a
--    subquery, which PostgreSQL refuses in a trigger WHEN clause: each
--    trigger function checks it first and does nothing while paused.
--  * ON CONFLICT ... DO UPDATE SET x = x + excluded.x is ambiguous in
--    PostgreSQL: the target is table-qualified (x = stats_hourly.x + excluded.x).
--  * strftime('%Y', t, 'unixepoch') is the UTC calendar year of t; here
--    EXTRACT(YEAR FROM to_timestamp(t) AT TIME ZONE 'UTC'), which does not
--    depend on the session's TimeZone. Local days and hours use the branch's
--    utc_offset_minutes exactly as in SQLite (integer division and modulo
--    truncate toward zero in both engines).
--  * WITHOUT ROWID has no PostgreSQL counterpart (dropped; same keys).
--  * SQLite triggers run FOR EACH ROW; so do these (AFTER ... FOR EACH ROW).
--    "AFTER UPDATE OF a, b" fires in both engines when a listed column is a
--    target of the UPDATE's SET list, changed or not.

CREATE TABLE stats_hourly (
    branch_id BIGINT NOT NULL,
    -- Local day number (days since 1970-01-01 in the branch's time zone) and hour.
    day BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    visits BIGINT NOT NULL DEFAULT 0,
    new_visits BIGINT NOT NULL DEFAULT 0,
    returning_visits BIGINT NOT NULL DEFAULT 0,
    unknown_visits BIGINT NOT NULL DEFAULT 0,
    -- Closed visits by time spent: <15, 15–30, 30–45, 45–60, 60–90, 90–120, 120+ minutes.
    dwell0 BIGINT NOT NULL DEFAULT 0,
    dwell1 BIGINT NOT NULL DEFAULT 0,
    dwell2 BIGINT NOT NULL DEFAULT 0,
    dwell3 BIGINT NOT NULL DEFAULT 0,
    dwell4 BIGINT NOT NULL DEFAULT 0,
    dwell5 BIGINT NOT NULL DEFAULT 0,
    dwell6 BIGINT NOT NULL DEFAULT 0,
    -- Day first: a date range reads rows already in (day, hour) order.
    PRIMARY KEY (day, hour, branch_id)
);

CREATE TABLE stats_services_daily (
    branch_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    kind TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind, branch_id)
);

-- Visits by the visitor's age band (0: 18–24 … 5: 65+, -1 unknown) and gender.
CREATE TABLE stats_demographics_daily (
    branch_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    band BIGINT NOT NULL,
    gender TEXT NOT NULL,
    visits BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, band, gender, branch_id)
);

-- Adds one visit (as it is now: NEW) to the hourly and demographic roll-ups.
-- Shared by the insert trigger and the second half of the update trigger,
-- which in SQLite repeat the same two statements.
CREATE FUNCTION stats_rollup_add_visit(v visits) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_hourly (branch_id, day, hour, visits, new_visits, returning_visits, unknown_visits,
                              dwell0, dwell1, dwell2, dwell3, dwell4, dwell5, dwell6)
    SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400,
           ((v.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600,
           1,
           CASE WHEN v.is_first_visit THEN 1 ELSE 0 END,
           CASE WHEN v.client_id IS NOT NULL AND NOT v.is_first_visit THEN 1 ELSE 0 END,
           CASE WHEN v.client_id IS NULL THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at < 900 THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at >= 900 AND v.left_at - v.entered_at < 1800 THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at >= 1800 AND v.left_at - v.entered_at < 2700 THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at >= 2700 AND v.left_at - v.entered_at < 3600 THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at >= 3600 AND v.left_at - v.entered_at < 5400 THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at >= 5400 AND v.left_at - v.entered_at < 7200 THEN 1 ELSE 0 END,
           CASE WHEN v.left_at - v.entered_at >= 7200 THEN 1 ELSE 0 END
    FROM branches b WHERE b.id = v.branch_id
    ON CONFLICT (day, hour, branch_id) DO UPDATE SET
        visits = stats_hourly.visits + excluded.visits,
        new_visits = stats_hourly.new_visits + excluded.new_visits,
        returning_visits = stats_hourly.returning_visits + excluded.returning_visits,
        unknown_visits = stats_hourly.unknown_visits + excluded.unknown_visits,
        dwell0 = stats_hourly.dwell0 + excluded.dwell0, dwell1 = stats_hourly.dwell1 + excluded.dwell1,
        dwell2 = stats_hourly.dwell2 + excluded.dwell2, dwell3 = stats_hourly.dwell3 + excluded.dwell3,
        dwell4 = stats_hourly.dwell4 + excluded.dwell4, dwell5 = stats_hourly.dwell5 + excluded.dwell5,
        dwell6 = stats_hourly.dwell6 + excluded.dwell6;
    INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits)
    SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400,
           CASE WHEN c.birth_year IS NULL THEN -1
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 25 THEN 0
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 35 THEN 1
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 45 THEN 2
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 55 THEN 3
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 65 THEN 4
                ELSE 5 END,
           COALESCE(c.gender, 'unknown'), 1
    FROM branches b JOIN clients c ON c.id = v.client_id WHERE b.id = v.branch_id
    ON CONFLICT (day, band, gender, branch_id) DO UPDATE SET
        visits = stats_demographics_daily.visits + excluded.visits;
END;
$$;

CREATE FUNCTION visits_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    PERFORM stats_rollup_add_visit(NEW);
    RETURN NULL;
END;
$$;

CREATE TRIGGER visits_rollup_insert AFTER INSERT ON visits
FOR EACH ROW EXECUTE FUNCTION visits_rollup_insert();

-- A visit that closes, or gets its client later, moves between buckets:
-- take its old contribution out, put the new one in.
CREATE FUNCTION visits_rollup_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    UPDATE stats_hourly SET
        visits = visits - 1,
        new_visits = new_visits - (CASE WHEN OLD.is_first_visit THEN 1 ELSE 0 END),
        returning_visits = returning_visits - (CASE WHEN OLD.client_id IS NOT NULL AND NOT OLD.is_first_visit THEN 1 ELSE 0 END),
        unknown_visits = unknown_visits - (CASE WHEN OLD.client_id IS NULL THEN 1 ELSE 0 END),
        dwell0 = dwell0 - (CASE WHEN OLD.left_at - OLD.entered_at < 900 THEN 1 ELSE 0 END),
        dwell1 = dwell1 - (CASE WHEN OLD.left_at - OLD.entered_at >= 900 AND OLD.left_at - OLD.entered_at < 1800 THEN 1 ELSE 0 END),
        dwell2 = dwell2 - (CASE WHEN OLD.left_at - OLD.entered_at >= 1800 AND OLD.left_at - OLD.entered_at < 2700 THEN 1 ELSE 0 END),
        dwell3 = dwell3 - (CASE WHEN OLD.left_at - OLD.entered_at >= 2700 AND OLD.left_at - OLD.entered_at < 3600 THEN 1 ELSE 0 END),
        dwell4 = dwell4 - (CASE WHEN OLD.left_at - OLD.entered_at >= 3600 AND OLD.left_at - OLD.entered_at < 5400 THEN 1 ELSE 0 END),
        dwell5 = dwell5 - (CASE WHEN OLD.left_at - OLD.entered_at >= 5400 AND OLD.left_at - OLD.entered_at < 7200 THEN 1 ELSE 0 END),
        dwell6 = dwell6 - (CASE WHEN OLD.left_at - OLD.entered_at >= 7200 THEN 1 ELSE 0 END)
    WHERE branch_id = OLD.branch_id
      AND day = (OLD.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400
      AND hour = ((OLD.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) % 86400) / 3600;
    UPDATE stats_demographics_daily SET visits = visits - 1
    WHERE OLD.client_id IS NOT NULL AND branch_id = OLD.branch_id
      AND day = (OLD.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400
      AND band = (SELECT CASE WHEN c.birth_year IS NULL THEN -1
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(OLD.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 25 THEN 0
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(OLD.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 35 THEN 1
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(OLD.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 45 THEN 2
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(OLD.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 55 THEN 3
                WHEN CAST(EXTRACT(YEAR FROM to_timestamp(OLD.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 65 THEN 4
                ELSE 5 END FROM clients c WHERE c.id = OLD.client_id)
      AND gender = (SELECT COALESCE(c.gender, 'unknown') FROM clients c WHERE c.id = OLD.client_id);
    -- Re-add the new state through the insert trigger's logic.
    PERFORM stats_rollup_add_visit(NEW);
    RETURN NULL;
END;
$$;

CREATE TRIGGER visits_rollup_update
AFTER UPDATE OF left_at, client_id, is_first_visit, entered_at, branch_id ON visits
FOR EACH ROW EXECUTE FUNCTION visits_rollup_update();

CREATE FUNCTION services_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    INSERT INTO stats_services_daily (branch_id, day, kind, requests)
    SELECT NEW.branch_id, (NEW.requested_at + b.utc_offset_minutes * 60) / 86400, NEW.kind, 1
    FROM branches b WHERE b.id = NEW.branch_id
    ON CONFLICT (day, kind, branch_id) DO UPDATE SET requests = stats_services_daily.requests + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER services_rollup_insert AFTER INSERT ON service_requests
FOR EACH ROW EXECUTE FUNCTION services_rollup_insert();

CREATE FUNCTION services_rollup_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    UPDATE stats_services_daily SET requests = requests - 1
    WHERE branch_id = OLD.branch_id AND kind = OLD.kind
      AND day = (OLD.requested_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400;
    RETURN NULL;
END;
$$;

CREATE TRIGGER services_rollup_delete AFTER DELETE ON service_requests
FOR EACH ROW EXECUTE FUNCTION services_rollup_delete();

-- Substring search over names and phone digits. SQLite keeps an FTS5 trigram
-- table (clients_fts) fed by three triggers; PostgreSQL uses a GIN trigram
-- index on the column itself, which the planner uses for
-- `search_text LIKE '%word%'` (words of 3+ characters) and which needs no
-- triggers, no pausing and no 'rebuild' after a bulk load.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX clients_search_trgm ON clients USING gin (search_text gin_trgm_ops);

-- Backfill from what a database already holds.
INSERT INTO stats_hourly (branch_id, day, hour, visits, new_visits, returning_visits, unknown_visits,
                          dwell0, dwell1, dwell2, dwell3, dwell4, dwell5, dwell6)
SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
       ((v.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600 AS hour, COUNT(*),
       SUM(CASE WHEN v.is_first_visit THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.client_id IS NOT NULL AND NOT v.is_first_visit THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.client_id IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at < 900 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 900 AND v.left_at - v.entered_at < 1800 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 1800 AND v.left_at - v.entered_at < 2700 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 2700 AND v.left_at - v.entered_at < 3600 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 3600 AND v.left_at - v.entered_at < 5400 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 5400 AND v.left_at - v.entered_at < 7200 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 7200 THEN 1 ELSE 0 END)
FROM visits v JOIN branches b ON b.id = v.branch_id
GROUP BY v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400,
         ((v.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600;

INSERT INTO stats_services_daily (branch_id, day, kind, requests)
SELECT s.branch_id, (s.requested_at + b.utc_offset_minutes * 60) / 86400 AS day, s.kind, COUNT(*)
FROM service_requests s JOIN branches b ON b.id = s.branch_id
GROUP BY s.branch_id, (s.requested_at + b.utc_offset_minutes * 60) / 86400, s.kind;

INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits)
SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
       CASE WHEN c.birth_year IS NULL THEN -1
            WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 25 THEN 0
            WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 35 THEN 1
            WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 45 THEN 2
            WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 55 THEN 3
            WHEN CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT) - c.birth_year < 65 THEN 4
            ELSE 5 END AS band,
       COALESCE(c.gender, 'unknown') AS g, COUNT(*)
FROM visits v JOIN branches b ON b.id = v.branch_id JOIN clients c ON c.id = v.client_id
GROUP BY 1, 2, 3, 4;
