-- The whole domain of DESIGN.md. Times are UTC Unix seconds (BIGINT) so that
-- range scans and hour/day arithmetic stay cheap; branch time zones say how to
-- show them. Booleans use TRUE/FALSE so the same text is valid PostgreSQL.

CREATE TABLE branches (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'Asia/Tashkent',
    -- Minutes east of UTC for time_zone (the region keeps no daylight saving).
    utc_offset_minutes INTEGER NOT NULL DEFAULT 300,
    opens_at TEXT NOT NULL DEFAULT '09:00',
    closes_at TEXT NOT NULL DEFAULT '20:00',
    biometrics_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'reception')),
    branch_id INTEGER REFERENCES branches (id),
    language TEXT NOT NULL DEFAULT 'uz' CHECK (language IN ('uz', 'ru', 'en')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    telegram_chat_id BIGINT,
    telegram_link_code TEXT,
    telegram_link_expires_at BIGINT,
    notify_kinds TEXT NOT NULL DEFAULT 'unknown_visitor,new_client,returning_client,client_left,hot_lead,daily_summary',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX staff_branch ON staff (branch_id);
CREATE UNIQUE INDEX staff_telegram_chat ON staff (telegram_chat_id);

-- Kiosk tablets and cameras. Tokens and pairing codes are stored hashed.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    kind TEXT NOT NULL CHECK (kind IN ('kiosk', 'camera')),
    camera_role TEXT CHECK (camera_role IN ('entrance', 'exit')),
    name TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    pairing_code_hash TEXT UNIQUE,
    pairing_expires_at BIGINT,
    last_seen_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX devices_branch ON devices (branch_id);

-- The car catalogue the kiosk and the client card offer.
CREATE TABLE car_models (
    id INTEGER PRIMARY KEY,
    brand TEXT NOT NULL,
    name TEXT NOT NULL,
    segment TEXT NOT NULL CHECK (segment IN ('budget', 'sedan', 'suv', 'commercial', 'premium', 'electric')),
    base_price BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (brand, name)
);

-- Consent text per language and version; a client records the version agreed to.
CREATE TABLE consent_texts (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('uz', 'ru', 'en')),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (version, language)
);

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    full_name TEXT,
    -- E.164 (+998...); NULL once erased.
    phone TEXT UNIQUE,
    birth_year INTEGER,
    gender TEXT CHECK (gender IN ('male', 'female')),
    source TEXT NOT NULL DEFAULT 'walk_in'
        CHECK (source IN ('walk_in', 'instagram', 'telegram', 'referral', 'olx', 'website', 'billboard', 'other')),
    car_model_id INTEGER REFERENCES car_models (id),
    photo_path TEXT,
    consent_at BIGINT,
    consent_version INTEGER,
    consent_language TEXT,
    biometric_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    -- Lower-cased name and phone digits, for substring search.
    search_text TEXT NOT NULL DEFAULT '',
    first_visit_at BIGINT,
    last_visit_at BIGINT,
    visit_count INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    erased_at BIGINT
);
CREATE INDEX clients_branch ON clients (branch_id);
CREATE INDEX clients_created ON clients (created_at);
CREATE INDEX clients_first_visit ON clients (first_visit_at);
CREATE INDEX clients_last_visit ON clients (last_visit_at);
CREATE INDEX clients_car_model ON clients (car_model_id);

-- What the vision program enrols a client from; deleted with the client's face data.
CREATE TABLE face_templates (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    image_path TEXT,
    embedding BLOB,
    model TEXT,
    rejected BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX face_templates_client ON face_templates (client_id);

CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    visit_token TEXT NOT NULL UNIQUE,
    client_id INTEGER REFERENCES clients (id),
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    entered_at BIGINT NOT NULL,
    left_at BIGINT,
    started_by TEXT NOT NULL CHECK (started_by IN ('kiosk', 'camera', 'manual')),
    ended_by TEXT CHECK (ended_by IN ('exit_camera', 'manual', 'auto_close')),
    -- TRUE for a client's first visit, so new vs returning needs no window scan.
    is_first_visit BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX visits_branch_entered ON visits (branch_id, entered_at);
CREATE INDEX visits_entered ON visits (entered_at);
CREATE INDEX visits_client ON visits (client_id, entered_at);
CREATE INDEX visits_open ON visits (branch_id, entered_at) WHERE left_at IS NULL;

CREATE TABLE service_requests (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    client_id INTEGER REFERENCES clients (id),
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    kind TEXT NOT NULL
        CHECK (kind IN ('consultation', 'test_drive', 'credit', 'trade_in', 'service', 'purchase_talk', 'insurance')),
    staff_id INTEGER REFERENCES staff (id),
    requested_at BIGINT NOT NULL,
    note TEXT,
    outcome TEXT
);
CREATE INDEX service_requests_visit ON service_requests (visit_id);
CREATE INDEX service_requests_client ON service_requests (client_id, kind);
CREATE INDEX service_requests_branch_time ON service_requests (branch_id, requested_at);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    kind TEXT NOT NULL CHECK (kind IN ('passport', 'contract', 'other')),
    file_name TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by INTEGER REFERENCES staff (id),
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX documents_client ON documents (client_id);

CREATE TABLE sales (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    visit_id INTEGER REFERENCES visits (id),
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    car_model_id INTEGER REFERENCES car_models (id),
    price BIGINT NOT NULL,
    sold_at BIGINT NOT NULL,
    contract_document_id INTEGER REFERENCES documents (id),
    staff_id INTEGER REFERENCES staff (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX sales_client ON sales (client_id);
CREATE INDEX sales_branch_time ON sales (branch_id, sold_at);

CREATE TABLE camera_events (
    id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    -- The idempotency key the vision program sends.
    event_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('enter', 'exit', 'unknown_face')),
    client_id INTEGER REFERENCES clients (id),
    visit_id INTEGER REFERENCES visits (id),
    similarity REAL,
    occurred_at BIGINT NOT NULL,
    snapshot_path TEXT,
    rejected BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX camera_events_device_time ON camera_events (device_id, occurred_at);
CREATE INDEX camera_events_client ON camera_events (client_id);

-- Trained purchase models; exactly one may be active.
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    trained_at BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    body TEXT NOT NULL,
    metrics TEXT NOT NULL,
    train_count INTEGER NOT NULL,
    test_count INTEGER NOT NULL,
    positive_count INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    trained_by INTEGER REFERENCES staff (id)
);

CREATE TABLE client_scores (
    client_id INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES models (id),
    probability REAL NOT NULL,
    reasons TEXT NOT NULL,
    scored_at BIGINT NOT NULL
);
CREATE INDEX client_scores_probability ON client_scores (probability);

-- What the bot must send; a row stays until delivered so nothing is lost.
CREATE TABLE notification_outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    branch_id INTEGER REFERENCES branches (id),
    client_id INTEGER REFERENCES clients (id),
    visit_id INTEGER REFERENCES visits (id),
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    staff_id INTEGER REFERENCES staff (id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- API tokens for scripts and integrations; shown once, stored hashed.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

-- Key/value settings an admin changes at runtime (score bands, retention ...).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The web sessions, in the schema tower-sessions-sqlx-store expects.
CREATE TABLE IF NOT EXISTS tower_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
