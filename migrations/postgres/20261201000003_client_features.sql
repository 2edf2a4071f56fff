-- PostgreSQL translation of migrations/sqlite/20261201000003_client_features.sql.
-- Each client's model features, kept current so that a retrain reads one row
-- per client instead of recomputing everything from every visit. A write that
-- can change a client's features counts a change on their row (triggers: no
-- writer can forget one); rescoring that client, or the next training,
-- recomputes rows with changes and sets the count back to zero only if
-- nothing was written meanwhile. A bulk load may pause the triggers (settings
-- key 'rollups_paused', as for the statistics) and mark every row changed.
--
-- Translation notes: the SQLite triggers' WHEN NOT EXISTS (SELECT ...
-- 'rollups_paused') moves into the trigger functions (PostgreSQL refuses
-- subqueries in WHEN); the conditions on NEW/OLD alone stay in WHEN.
-- INSERT OR IGNORE -> INSERT ... ON CONFLICT DO NOTHING.
CREATE TABLE client_features (
    client_id BIGINT PRIMARY KEY REFERENCES clients (id),
    changes BIGINT NOT NULL DEFAULT 1,
    -- Set when the client is an example (has a visit, not erased).
    first_visit_at BIGINT,
    bought BOOLEAN,
    -- Features cut at the first sale: what training learns from …
    training_cutoff BIGINT,
    training BYTEA,
    -- … and as of the last contact: what today's score is computed from.
    scoring_cutoff BIGINT,
    scoring BYTEA
);
CREATE INDEX client_features_changed ON client_features (client_id) WHERE changes > 0;
INSERT INTO client_features (client_id) SELECT id FROM clients WHERE erased_at IS NULL;

-- client_features_new: a new client gets a row.
CREATE FUNCTION client_features_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    INSERT INTO client_features (client_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER client_features_new AFTER INSERT ON clients
FOR EACH ROW EXECUTE FUNCTION client_features_new();

-- client_features_client: the client's own attributes changed.
CREATE FUNCTION client_features_client() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    UPDATE client_features SET changes = changes + 1 WHERE client_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER client_features_client
AFTER UPDATE OF birth_year, gender, source, car_model_id, first_visit_at ON clients
FOR EACH ROW EXECUTE FUNCTION client_features_client();

-- One change for NEW.client_id (the *_insert triggers).
CREATE FUNCTION client_features_count_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    UPDATE client_features SET changes = changes + 1 WHERE client_id = NEW.client_id;
    RETURN NULL;
END;
$$;

-- One change for OLD.client_id (the *_delete triggers).
CREATE FUNCTION client_features_count_old() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    UPDATE client_features SET changes = changes + 1 WHERE client_id = OLD.client_id;
    RETURN NULL;
END;
$$;

-- One change for each of NEW.client_id and OLD.client_id (one if they are
-- the same client: IN matches the row once) (the *_update triggers).
CREATE FUNCTION client_features_count_both() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settings WHERE key = 'rollups_paused') THEN
        RETURN NULL;
    END IF;
    UPDATE client_features SET changes = changes + 1 WHERE client_id IN (NEW.client_id, OLD.client_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER client_features_visit_insert AFTER INSERT ON visits
FOR EACH ROW WHEN (NEW.client_id IS NOT NULL) EXECUTE FUNCTION client_features_count_new();

CREATE TRIGGER client_features_visit_update
AFTER UPDATE OF client_id, entered_at, left_at, started_by, is_first_visit ON visits
FOR EACH ROW EXECUTE FUNCTION client_features_count_both();

CREATE TRIGGER client_features_visit_delete AFTER DELETE ON visits
FOR EACH ROW WHEN (OLD.client_id IS NOT NULL) EXECUTE FUNCTION client_features_count_old();

CREATE TRIGGER client_features_sale_insert AFTER INSERT ON sales
FOR EACH ROW EXECUTE FUNCTION client_features_count_new();

CREATE TRIGGER client_features_sale_update AFTER UPDATE OF client_id, sold_at ON sales
FOR EACH ROW EXECUTE FUNCTION client_features_count_both();

CREATE TRIGGER client_features_sale_delete AFTER DELETE ON sales
FOR EACH ROW EXECUTE FUNCTION client_features_count_old();

CREATE TRIGGER client_features_service_insert AFTER INSERT ON service_requests
FOR EACH ROW WHEN (NEW.client_id IS NOT NULL) EXECUTE FUNCTION client_features_count_new();

CREATE TRIGGER client_features_service_update AFTER UPDATE OF client_id, kind, requested_at ON service_requests
FOR EACH ROW EXECUTE FUNCTION client_features_count_both();

CREATE TRIGGER client_features_service_delete AFTER DELETE ON service_requests
FOR EACH ROW WHEN (OLD.client_id IS NOT NULL) EXECUTE FUNCTION client_features_count_old();
