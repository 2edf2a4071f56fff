-- PostgreSQL translation of migrations/sqlite/20261202000001_unique_visitors.sql.
-- Unique visitors beside visits: the people a branch saw on a local day.
-- A person is a client, else a stranger the camera program knew again (its
-- key), else an anonymous visit on its own. A client back from lunch, or a
-- stranger passing the entrance twice hours apart, is two visits but one
-- visitor. The statistics add the days up, as footfall counters do.
--
-- Translation note: these triggers run BEFORE the row changes, not AFTER as
-- in SQLite. Whether "another visit of the same person" exists must be asked
-- of the table as it was before this row changed and after the rows before it
-- in the same statement did: what SQLite's AFTER triggers see, row by row. A
-- PostgreSQL AFTER trigger sees the whole statement done, so two visits of one
-- person inserted by one statement would each find the other and count nobody.

CREATE TABLE stats_visitors_daily (
    branch_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    visitors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, branch_id)
);

-- Adds (delta 1) or takes away (delta -1) the visitor of visit v, unless
-- another visit of the same person is on that branch and local day.
CREATE FUNCTION stats_visitors_count(v visits, delta BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    offset_seconds BIGINT;
    local_day BIGINT;
BEGIN
    SELECT b.utc_offset_minutes * 60 INTO offset_seconds FROM branches b WHERE b.id = v.branch_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    local_day := (v.entered_at + offset_seconds) / 86400;
    IF v.client_id IS NOT NULL THEN
        PERFORM 1 FROM visits o
        WHERE o.client_id = v.client_id AND o.id <> v.id AND o.branch_id = v.branch_id
          AND (o.entered_at + offset_seconds) / 86400 = local_day;
        IF FOUND THEN
            RETURN;
        END IF;
    ELSIF v.stranger_key IS NOT NULL THEN
        PERFORM 1 FROM visits o
        WHERE o.branch_id = v.branch_id AND o.stranger_key = v.stranger_key AND o.client_id IS NULL
          AND o.id <> v.id AND (o.entered_at + offset_seconds) / 86400 = local_day;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    IF delta > 0 THEN
        INSERT INTO stats_visitors_daily (branch_id, day, visitors) VALUES (v.branch_id, local_day, 1)
        ON CONFLICT (day, branch_id) DO UPDATE SET visitors = stats_visitors_daily.visitors + 1;
    ELSE
        UPDATE stats_visitors_daily SET visitors = visitors - 1
        WHERE branch_id = v.branch_id AND day = local_day;
    END IF;
END;
$$;

CREATE FUNCTION visits_visitors_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        PERFORM stats_visitors_count(NEW, 1);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER visits_visitors_insert BEFORE INSERT ON visits
FOR EACH ROW EXECUTE FUNCTION visits_visitors_insert();

CREATE FUNCTION visits_visitors_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        PERFORM stats_visitors_count(OLD, -1);
        PERFORM stats_visitors_count(NEW, 1);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER visits_visitors_update
BEFORE UPDATE OF client_id, stranger_key, entered_at, branch_id ON visits
FOR EACH ROW EXECUTE FUNCTION visits_visitors_update();

CREATE FUNCTION visits_visitors_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        PERFORM stats_visitors_count(OLD, -1);
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER visits_visitors_delete BEFORE DELETE ON visits
FOR EACH ROW EXECUTE FUNCTION visits_visitors_delete();

-- Backfill (the same SELECT as rebuild_rollups).
INSERT INTO stats_visitors_daily (branch_id, day, visitors)
SELECT branch_id, day, COUNT(DISTINCT visitor) FROM (
    SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
           CASE WHEN v.client_id IS NOT NULL THEN 'c' || CAST(v.client_id AS TEXT)
                WHEN v.stranger_key IS NOT NULL THEN 's' || v.stranger_key
                ELSE 'v' || CAST(v.id AS TEXT) END AS visitor
    FROM visits v JOIN branches b ON b.id = v.branch_id
) AS people GROUP BY branch_id, day;
