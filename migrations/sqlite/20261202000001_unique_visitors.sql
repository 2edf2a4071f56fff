-- Unique visitors beside visits: the people a branch saw on a local day.
-- A person is a client, else a stranger the camera program knew again (its
-- key), else an anonymous visit on its own. A client back from lunch, or a
-- stranger passing the entrance twice hours apart, is two visits but one
-- visitor. The statistics add the days up, as footfall counters do.
CREATE TABLE stats_visitors_daily (
    branch_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, branch_id)
) WITHOUT ROWID;

-- A visit counts a visitor when no other visit of the same person is on that
-- branch and local day; it takes one away when it was the last. Both checks
-- read the indexes on (client_id, entered_at) and (branch_id, stranger_key).
CREATE TRIGGER visits_visitors_insert AFTER INSERT ON visits
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT INTO stats_visitors_daily (branch_id, day, visitors)
    SELECT NEW.branch_id, (NEW.entered_at + b.utc_offset_minutes * 60) / 86400, 1
    FROM branches b
    WHERE b.id = NEW.branch_id
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE NEW.client_id IS NOT NULL AND o.client_id = NEW.client_id AND o.id <> NEW.id
            AND o.branch_id = NEW.branch_id
            AND (o.entered_at + b.utc_offset_minutes * 60) / 86400 = (NEW.entered_at + b.utc_offset_minutes * 60) / 86400)
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE NEW.client_id IS NULL AND NEW.stranger_key IS NOT NULL AND o.branch_id = NEW.branch_id
            AND o.stranger_key = NEW.stranger_key AND o.client_id IS NULL AND o.id <> NEW.id
            AND (o.entered_at + b.utc_offset_minutes * 60) / 86400 = (NEW.entered_at + b.utc_offset_minutes * 60) / 86400)
    ON CONFLICT (day, branch_id) DO UPDATE SET visitors = visitors + 1;
END;

-- A visit whose person or day changes (a stranger registers at the kiosk, "not
-- this person", the camera program's key arrives) leaves its old visitor and
-- joins the new one.
CREATE TRIGGER visits_visitors_update AFTER UPDATE OF client_id, stranger_key, entered_at, branch_id ON visits
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE stats_visitors_daily SET visitors = visitors - 1
    WHERE branch_id = OLD.branch_id
      AND day = (OLD.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE OLD.client_id IS NOT NULL AND o.client_id = OLD.client_id AND o.id <> OLD.id
            AND o.branch_id = OLD.branch_id
            AND (o.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400 = stats_visitors_daily.day)
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE OLD.client_id IS NULL AND OLD.stranger_key IS NOT NULL AND o.branch_id = OLD.branch_id
            AND o.stranger_key = OLD.stranger_key AND o.client_id IS NULL AND o.id <> OLD.id
            AND (o.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400 = stats_visitors_daily.day);
    INSERT INTO stats_visitors_daily (branch_id, day, visitors)
    SELECT NEW.branch_id, (NEW.entered_at + b.utc_offset_minutes * 60) / 86400, 1
    FROM branches b
    WHERE b.id = NEW.branch_id
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE NEW.client_id IS NOT NULL AND o.client_id = NEW.client_id AND o.id <> NEW.id
            AND o.branch_id = NEW.branch_id
            AND (o.entered_at + b.utc_offset_minutes * 60) / 86400 = (NEW.entered_at + b.utc_offset_minutes * 60) / 86400)
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE NEW.client_id IS NULL AND NEW.stranger_key IS NOT NULL AND o.branch_id = NEW.branch_id
            AND o.stranger_key = NEW.stranger_key AND o.client_id IS NULL AND o.id <> NEW.id
            AND (o.entered_at + b.utc_offset_minutes * 60) / 86400 = (NEW.entered_at + b.utc_offset_minutes * 60) / 86400)
    ON CONFLICT (day, branch_id) DO UPDATE SET visitors = visitors + 1;
END;

CREATE TRIGGER visits_visitors_delete AFTER DELETE ON visits
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE stats_visitors_daily SET visitors = visitors - 1
    WHERE branch_id = OLD.branch_id
      AND day = (OLD.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE OLD.client_id IS NOT NULL AND o.client_id = OLD.client_id AND o.id <> OLD.id
            AND o.branch_id = OLD.branch_id
            AND (o.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400 = stats_visitors_daily.day)
      AND NOT EXISTS (SELECT 1 FROM visits o
          WHERE OLD.client_id IS NULL AND OLD.stranger_key IS NOT NULL AND o.branch_id = OLD.branch_id
            AND o.stranger_key = OLD.stranger_key AND o.client_id IS NULL AND o.id <> OLD.id
            AND (o.entered_at + (SELECT utc_offset_minutes FROM branches WHERE id = OLD.branch_id) * 60) / 86400 = stats_visitors_daily.day);
END;

-- Backfill (the same SELECT as rebuild_rollups).
INSERT INTO stats_visitors_daily (branch_id, day, visitors)
SELECT branch_id, day, COUNT(DISTINCT visitor) FROM (
    SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
           CASE WHEN v.client_id IS NOT NULL THEN 'c' || CAST(v.client_id AS TEXT)
                WHEN v.stranger_key IS NOT NULL THEN 's' || v.stranger_key
                ELSE 'v' || CAST(v.id AS TEXT) END AS visitor
    FROM visits v JOIN branches b ON b.id = v.branch_id
) AS people GROUP BY branch_id, day;
