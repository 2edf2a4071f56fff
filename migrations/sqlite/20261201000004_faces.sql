-- Staff enrol their face so the cameras know them: a recognised staff member
-- opens no visit, sends no notification and is never counted as a visitor.
-- One photo per member; a new enrolment is a new row (a new id), so the
-- cameras see a new version and embed it again.
CREATE TABLE staff_faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id INTEGER NOT NULL UNIQUE REFERENCES staff (id),
    photo_path TEXT NOT NULL,
    -- When the member agreed (or the admin recorded their agreement).
    consent_at BIGINT NOT NULL,
    enrolled_by INTEGER NOT NULL REFERENCES staff (id),
    created_at BIGINT NOT NULL
);

-- When each member was first seen coming in and last seen going out, per
-- branch and local day (days since 1970-01-01 in the branch's time zone).
CREATE TABLE staff_presence (
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    day INTEGER NOT NULL,
    first_in BIGINT,
    last_out BIGINT,
    passages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, day, staff_id)
);

-- A camera event of a recognised staff member names them instead of a client.
ALTER TABLE camera_events ADD COLUMN staff_id INTEGER REFERENCES staff (id);

-- One stranger, one visitor: the camera program's key for an unknown face it
-- has seen before today; their next passage finds this visit, and the kiosk
-- registration of that face takes it over.
ALTER TABLE visits ADD COLUMN stranger_key TEXT;
CREATE INDEX visits_stranger ON visits (branch_id, stranger_key) WHERE stranger_key IS NOT NULL;
