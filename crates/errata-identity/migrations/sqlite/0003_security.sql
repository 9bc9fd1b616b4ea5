-- Ids are never reused: users and groups get AUTOINCREMENT, so a deleted
-- row's id is never given to a new row (SQLite otherwise reuses the highest
-- id after it is deleted, and a token naming it would name the new row).
-- Tables are rebuilt as SQLite's documentation describes (ALTER TABLE,
-- "Making Other Kinds Of Table Schema Changes"); this runs with foreign
-- keys off, so dropping the old table deletes nothing that refers to it.
CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    provider      TEXT NOT NULL DEFAULT 'local',
    password_hash TEXT,
    tfa_secret    TEXT,
    tfa_pending   TEXT,
    tfa_last_step INTEGER NOT NULL DEFAULT 0,
    is_active     INTEGER NOT NULL DEFAULT 1,
    is_verified   INTEGER NOT NULL DEFAULT 0,
    is_system     INTEGER NOT NULL DEFAULT 0,
    generation    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login_at INTEGER
);
INSERT INTO users_new SELECT id, email, name, provider, password_hash, tfa_secret, tfa_pending,
    tfa_last_step, is_active, is_verified, is_system, generation, created_at, updated_at, last_login_at
    FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE groups_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    permissions TEXT NOT NULL DEFAULT '[]',
    page_rules  TEXT NOT NULL DEFAULT '[]',
    is_system   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO groups_new SELECT id, name, permissions, page_rules, is_system, created_at, updated_at
    FROM groups;
DROP TABLE groups;
ALTER TABLE groups_new RENAME TO groups;

-- Every generation moves to a random number: tokens issued before carry
-- the old, guessable one and end here, and a token can only ever match the
-- row it was issued for.
UPDATE users SET generation = generation + 1 + (random() & 4503599627370495);

-- Clients no longer live for ever: those made without a lifetime get a
-- year from now.
UPDATE oauth_clients
SET lifetime_days = 365,
    expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 365 * 86400
WHERE lifetime_days IS NULL;

-- A client ends with its owner's sessions: it is bound to the owner's
-- generation when it is created or rotated.
ALTER TABLE oauth_clients ADD COLUMN owner_generation INTEGER;
UPDATE oauth_clients
SET owner_generation = (SELECT generation FROM users WHERE users.id = oauth_clients.owner_id);

-- The networks (an IPv4 address, an IPv6 /64) each user signed in from:
-- failed logins from elsewhere cannot lock the owner out of these.
CREATE TABLE known_networks (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    network   TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (user_id, network)
);
