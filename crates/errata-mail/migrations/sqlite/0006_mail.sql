-- Mail: the SMTP settings (one row, as `mail.updateConfig` writes them) and
-- the outbox. Times are milliseconds since the epoch, flags 0 or 1.
CREATE TABLE mail_config (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    sender_name      TEXT NOT NULL,
    sender_email     TEXT NOT NULL,
    host             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    hello_name       TEXT NOT NULL,
    encryption       TEXT NOT NULL,
    verify_ssl       INTEGER NOT NULL,
    user_name        TEXT NOT NULL,
    pass             TEXT NOT NULL,
    use_dkim         INTEGER NOT NULL,
    dkim_domain      TEXT NOT NULL,
    dkim_selector    TEXT NOT NULL,
    dkim_private_key TEXT NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- state: 0 queued, 1 sent, 2 failed for good. A queued mail is due at
-- next_attempt_at and is being sent by some instance until lease_until.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    recipient       TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    state           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at);
