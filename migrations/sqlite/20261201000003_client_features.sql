-- Each client's model features, kept current so that a retrain reads one row
-- per client instead of recomputing everything from every visit. A write that
-- can change a client's features counts a change on their row (triggers: no
-- writer can forget one); rescoring that client, or the next training,
-- recomputes rows with changes and sets the count back to zero only if
-- nothing was written meanwhile. A bulk load may pause the triggers (settings
-- key 'rollups_paused', as for the statistics) and mark every row changed.
CREATE TABLE client_features (
    client_id INTEGER PRIMARY KEY REFERENCES clients (id),
    changes INTEGER NOT NULL DEFAULT 1,
    -- Set when the client is an example (has a visit, not erased).
    first_visit_at BIGINT,
    bought BOOLEAN,
    -- Features cut at the first sale: what training learns from …
    training_cutoff BIGINT,
    training BLOB,
    -- … and as of the last contact: what today's score is computed from.
    scoring_cutoff BIGINT,
    scoring BLOB
);
CREATE INDEX client_features_changed ON client_features (client_id) WHERE changes > 0;
INSERT INTO client_features (client_id) SELECT id FROM clients WHERE erased_at IS NULL;

CREATE TRIGGER client_features_new AFTER INSERT ON clients
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    INSERT OR IGNORE INTO client_features (client_id) VALUES (NEW.id);
END;

CREATE TRIGGER client_features_client AFTER UPDATE OF birth_year, gender, source, car_model_id, first_visit_at ON clients
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = NEW.id;
END;

CREATE TRIGGER client_features_visit_insert AFTER INSERT ON visits
WHEN NEW.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = NEW.client_id;
END;

CREATE TRIGGER client_features_visit_update AFTER UPDATE OF client_id, entered_at, left_at, started_by, is_first_visit ON visits
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id IN (NEW.client_id, OLD.client_id);
END;

CREATE TRIGGER client_features_visit_delete AFTER DELETE ON visits
WHEN OLD.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = OLD.client_id;
END;

CREATE TRIGGER client_features_sale_insert AFTER INSERT ON sales
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = NEW.client_id;
END;

CREATE TRIGGER client_features_sale_update AFTER UPDATE OF client_id, sold_at ON sales
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id IN (NEW.client_id, OLD.client_id);
END;

CREATE TRIGGER client_features_sale_delete AFTER DELETE ON sales
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = OLD.client_id;
END;

CREATE TRIGGER client_features_service_insert AFTER INSERT ON service_requests
WHEN NEW.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = NEW.client_id;
END;

CREATE TRIGGER client_features_service_update AFTER UPDATE OF client_id, kind, requested_at ON service_requests
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id IN (NEW.client_id, OLD.client_id);
END;

CREATE TRIGGER client_features_service_delete AFTER DELETE ON service_requests
WHEN OLD.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused')
BEGIN
    UPDATE client_features SET changes = changes + 1 WHERE client_id = OLD.client_id;
END;
