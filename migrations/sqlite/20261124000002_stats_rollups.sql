-- Roll-ups for the statistics: a year of a million visits is read from a
-- few thousand rows instead of scanned. Triggers keep them exact for every
-- writer; a bulk load may pause them (settings key 'rollups_paused') and
-- rebuild them afterwards in one pass.

CREATE TABLE stats_hourly (
    branch_id INTEGER NOT NULL,
    -- Local day number (days since 1970-01-01 in the branch's time zone) and hour.
    day INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    visits INTEGER NOT NULL DEFAULT 0,
    new_visits INTEGER NOT NULL DEFAULT 0,
    returning_visits INTEGER NOT NULL DEFAULT 0,
    unknown_visits INTEGER NOT NULL DEFAULT 0,
    -- Closed visits by time spent: <15, 15–30, 30–45, 45–60, 60–90, 90–120, 120+ minutes.
    dwell0 INTEGER NOT NULL DEFAULT 0,
    dwell1 INTEGER NOT NULL DEFAULT 0,
    dwell2 INTEGER NOT NULL DEFAULT 0,
    dwell3 INTEGER NOT NULL DEFAULT 0,
    dwell4 INTEGER NOT NULL DEFAULT 0,
    dwell5 INTEGER NOT NULL DEFAULT 0,
    dwell6 INTEGER NOT NULL DEFAULT 0,
    -- Day first: a date range reads rows already in (day, hour) order.
    PRIMARY KEY (day, hour, branch_id)
) WITHOUT ROWID;

CREATE TABLE stats_services_daily (
    branch_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind, branch_id)
) WITHOUT ROWID;

-- Visits by the visitor's age band (0: 18–24 … 5: 65+, -1 unknown) and gender.
CREATE TABLE stats_demographics_daily (
    branch_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    band INTEGER NOT NULL,
    gender TEXT NOT NULL,
    visits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, band, gender, branch_id)
) WITHOUT ROWID;

CREATE TRIGGER visits_rollup_insert AFTER INSERT ON visits
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT INTO stats_hourly (branch_id, day, hour, visits, new_visits, returning_visits, unknown_visits,
                              dwell0, dwell1, dwell2, dwell3, dwell4, dwell5, dwell6)
    SELECT NEW.branch_id, (NEW.entered_at + b.utc_offset_minutes * 60) / 86400,
           ((NEW.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600,
           1,
           CASE WHEN NEW.is_first_visit THEN 1 ELSE 0 END,
           CASE WHEN NEW.client_id IS NOT NULL AND NOT NEW.is_first_visit THEN 1 ELSE 0 END,
           CASE WHEN NEW.client_id IS NULL THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at < 900 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 900 AND NEW.left_at - NEW.entered_at < 1800 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 1800 AND NEW.left_at - NEW.entered_at < 2700 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 2700 AND NEW.left_at - NEW.entered_at < 3600 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 3600 AND NEW.left_at - NEW.entered_at < 5400 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 5400 AND NEW.left_at - NEW.entered_at < 7200 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 7200 THEN 1 ELSE 0 END
    FROM branches b WHERE b.id = NEW.branch_id
    ON CONFLICT (day, hour, branch_id) DO UPDATE SET
        visits = visits + excluded.visits, new_visits = new_visits + excluded.new_visits,
        returning_visits = returning_visits + excluded.returning_visits,
        unknown_visits = unknown_visits + excluded.unknown_visits,
        dwell0 = dwell0 + excluded.dwell0, dwell1 = dwell1 + excluded.dwell1, dwell2 = dwell2 + excluded.dwell2,
        dwell3 = dwell3 + excluded.dwell3, dwell4 = dwell4 + excluded.dwell4, dwell5 = dwell5 + excluded.dwell5,
        dwell6 = dwell6 + excluded.dwell6;
    INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits)
    SELECT NEW.branch_id, (NEW.entered_at + b.utc_offset_minutes * 60) / 86400,
           CASE WHEN c.birth_year IS NULL THEN -1
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 25 THEN 0
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 35 THEN 1
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 45 THEN 2
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 55 THEN 3
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 65 THEN 4
                ELSE 5 END,
           COALESCE(c.gender, 'unknown'), 1
    FROM branches b JOIN clients c ON c.id = NEW.client_id WHERE b.id = NEW.branch_id
    ON CONFLICT (day, band, gender, branch_id) DO UPDATE SET visits = visits + excluded.visits;
END;

-- A visit that closes, or gets its client later, moves between buckets:
-- take its old contribution out, put the new one in.
CREATE TRIGGER visits_rollup_update AFTER UPDATE OF left_at, client_id, is_first_visit, entered_at, branch_id ON visits
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
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
                WHEN CAST(strftime('%Y', OLD.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 25 THEN 0
                WHEN CAST(strftime('%Y', OLD.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 35 THEN 1
                WHEN CAST(strftime('%Y', OLD.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 45 THEN 2
                WHEN CAST(strftime('%Y', OLD.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 55 THEN 3
                WHEN CAST(strftime('%Y', OLD.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 65 THEN 4
                ELSE 5 END FROM clients c WHERE c.id = OLD.client_id)
      AND gender = (SELECT COALESCE(c.gender, 'unknown') FROM clients c WHERE c.id = OLD.client_id);
    -- Re-add the new state through the insert trigger's logic.
    INSERT INTO stats_hourly (branch_id, day, hour, visits, new_visits, returning_visits, unknown_visits,
                              dwell0, dwell1, dwell2, dwell3, dwell4, dwell5, dwell6)
    SELECT NEW.branch_id, (NEW.entered_at + b.utc_offset_minutes * 60) / 86400,
           ((NEW.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600,
           1,
           CASE WHEN NEW.is_first_visit THEN 1 ELSE 0 END,
           CASE WHEN NEW.client_id IS NOT NULL AND NOT NEW.is_first_visit THEN 1 ELSE 0 END,
           CASE WHEN NEW.client_id IS NULL THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at < 900 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 900 AND NEW.left_at - NEW.entered_at < 1800 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 1800 AND NEW.left_at - NEW.entered_at < 2700 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 2700 AND NEW.left_at - NEW.entered_at < 3600 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 3600 AND NEW.left_at - NEW.entered_at < 5400 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 5400 AND NEW.left_at - NEW.entered_at < 7200 THEN 1 ELSE 0 END,
           CASE WHEN NEW.left_at - NEW.entered_at >= 7200 THEN 1 ELSE 0 END
    FROM branches b WHERE b.id = NEW.branch_id
    ON CONFLICT (day, hour, branch_id) DO UPDATE SET
        visits = visits + excluded.visits, new_visits = new_visits + excluded.new_visits,
        returning_visits = returning_visits + excluded.returning_visits,
        unknown_visits = unknown_visits + excluded.unknown_visits,
        dwell0 = dwell0 + excluded.dwell0, dwell1 = dwell1 + excluded.dwell1, dwell2 = dwell2 + excluded.dwell2,
        dwell3 = dwell3 + excluded.dwell3, dwell4 = dwell4 + excluded.dwell4, dwell5 = dwell5 + excluded.dwell5,
        dwell6 = dwell6 + excluded.dwell6;
    INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits)
    SELECT NEW.branch_id, (NEW.entered_at + b.utc_offset_minutes * 60) / 86400,
           CASE WHEN c.birth_year IS NULL THEN -1
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 25 THEN 0
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 35 THEN 1
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 45 THEN 2
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 55 THEN 3
                WHEN CAST(strftime('%Y', NEW.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 65 THEN 4
                ELSE 5 END,
           COALESCE(c.gender, 'unknown'), 1
    FROM branches b JOIN clients c ON c.id = NEW.client_id WHERE b.id = NEW.branch_id
    ON CONFLICT (day, band, gender, branch_id) DO UPDATE SET visits = visits + excluded.visits;
END;

CREATE TRIGGER services_rollup_insert AFTER INSERT ON service_requests
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT INTO stats_services_daily (branch_id, day, kind, requests)
    SELECT NEW.branch_id, (NEW.requested_at + b.utc_offset_minutes * 60) / 86400, NEW.kind, 1
    FROM branches b WHERE b.id = NEW.branch_id
    ON CONFLICT (day, kind, branch_id) DO UPDATE SET requests = requests + 1;
END;

CREATE TRIGGER services_rollup_delete AFTER DELETE ON service_requests
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE stats_services_daily SET requests = requests - 1
    WHERE branch_id = OLD.branch_id AND kind = OLD.kind
      AND day = (OLD.requested_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400;
END;

-- Substring search over names and phone digits: a trigram index, so a
-- phone fragment finds its client without reading every row. (SQLite only;
-- PostgreSQL would use pg_trgm.)
CREATE VIRTUAL TABLE clients_fts USING fts5(search_text, content='clients', content_rowid='id', tokenize='trigram');

CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT INTO clients_fts (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;

CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT INTO clients_fts (clients_fts, rowid, search_text) VALUES ('delete', OLD.id, OLD.search_text);
END;

CREATE TRIGGER clients_fts_update AFTER UPDATE OF search_text ON clients
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT INTO clients_fts (clients_fts, rowid, search_text) VALUES ('delete', OLD.id, OLD.search_text);
    INSERT INTO clients_fts (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;

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
FROM visits v JOIN branches b ON b.id = v.branch_id GROUP BY v.branch_id, day, hour;

INSERT INTO stats_services_daily (branch_id, day, kind, requests)
SELECT s.branch_id, (s.requested_at + b.utc_offset_minutes * 60) / 86400 AS day, s.kind, COUNT(*)
FROM service_requests s JOIN branches b ON b.id = s.branch_id GROUP BY s.branch_id, day, s.kind;

INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits)
SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
       CASE WHEN c.birth_year IS NULL THEN -1
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 25 THEN 0
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 35 THEN 1
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 45 THEN 2
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 55 THEN 3
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 65 THEN 4
            ELSE 5 END AS band,
       COALESCE(c.gender, 'unknown') AS g, COUNT(*)
FROM visits v JOIN branches b ON b.id = v.branch_id JOIN clients c ON c.id = v.client_id
GROUP BY v.branch_id, day, band, g;

INSERT INTO clients_fts (clients_fts) VALUES ('rebuild');
