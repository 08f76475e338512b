//! The catalog schema and its migrations: a promise to readers decades away, described in
//! `docs/FORMAT.md`. SQL is kept portable between SQLite and PostgreSQL; the few differences
//! are the placeholders `{id}` (auto-numbered primary key), `{blob}` (bytes) and `{real}`
//! (floating point).

/// Schema version after all migrations below.
pub const SCHEMA_VERSION: i64 = 13;

/// Statements that only SQLite runs, after migration `i` (index in this list): the path indexes
/// for `locate`. An FTS5 trigram index over `files.path` answers substrings
/// of three characters or more; a contentless FTS5 index of single characters (each non-ASCII
/// character a token, ASCII words as tokens). Ingest fills both once per batch of files, in one
/// statement each (FTS5 is slow when written row by row). answers one- and two-character
/// Chinese queries. PostgreSQL uses plain `ILIKE` for now.
pub const SQLITE_EXTRAS: &[&[&str]] = &[&[
    "CREATE VIRTUAL TABLE files_char_index USING fts5(chars, content='', tokenize='unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE files_path_index USING fts5(path, content='files', content_rowid='id', tokenize='trigram case_sensitive 0')",
]];

/// Statements that only PostgreSQL runs, after migration `i` (index in this list): the path
/// indexes for `locate`, answering the same queries as SQLite's. A trigram index (pg_trgm, a
/// trusted extension the database owner may create) serves `ILIKE` over `files.path` for
/// substrings of three characters or more. One and two Chinese characters give no trigram, so
/// `files.path_chars` holds the path's characters as a tsvector (each non-ASCII letter a lexeme
/// at its position among the path's tokens, as in SQLite's character index), searched as a
/// phrase through a GIN index; ingest fills it (see `Catalog::index_paths_after`).
pub const POSTGRES_EXTRAS: &[&[&str]] = &[
    &[],
    &[],
    &[],
    &[],
    &[],
    &[],
    &[
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS files_path_trigrams ON files USING gin (path gin_trgm_ops)",
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS path_chars tsvector",
        "CREATE INDEX IF NOT EXISTS files_path_chars ON files USING gin (path_chars)",
    ],
    // 8: the numbering trigger runs only for a row without an id (a bulk insert numbers its
    // rows itself, once per transaction: see `Catalog::record_ingest`).
    &[
        "DO $body$ DECLARE t text; BEGIN
            FOR t IN SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
                     WHERE g.tgname = c.relname || '_next_id' AND c.relnamespace = current_schema()::regnamespace LOOP
                EXECUTE format('DROP TRIGGER %I ON %I', t || '_next_id', t);
                EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW WHEN (NEW.id IS NULL) EXECUTE FUNCTION discvault_next_id()', t || '_next_id', t);
            END LOOP;
        END $body$",
    ],
];

/// PostgreSQL numbers rows as SQLite does (the largest id plus one, in the write transaction,
/// which one writer holds at a time), not by a sequence: a sequence does not roll back, so a
/// command killed mid-transaction would leave a gap, and the ids a rerun gives (carried by the
/// discs' catalog snapshots and volume records) would differ from an uninterrupted run's.
pub const POSTGRES_NEXT_ID: &str =
    "CREATE OR REPLACE FUNCTION discvault_next_id() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF NEW.id IS NULL THEN
        EXECUTE format('SELECT COALESCE(MAX(id), 0) + 1 FROM %I', TG_TABLE_NAME) INTO NEW.id;
    END IF;
    RETURN NEW;
END
$body$";

/// Migrations in order; migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&[&str]] = &[&[
    "CREATE TABLE collections (
        id {id},
        name TEXT NOT NULL UNIQUE,
        fonds TEXT NOT NULL DEFAULT '',
        series TEXT NOT NULL DEFAULT '',
        retention TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE collection_metadata (
        collection_id BIGINT NOT NULL REFERENCES collections(id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (collection_id, key)
    )",
    "CREATE TABLE files (
        id {id},
        collection_id BIGINT NOT NULL REFERENCES collections(id),
        path TEXT NOT NULL,
        path_raw {blob} NOT NULL,
        version BIGINT NOT NULL,
        kind TEXT NOT NULL,
        size BIGINT NOT NULL,
        mtime BIGINT NOT NULL,
        mode BIGINT NOT NULL,
        link_target {blob},
        source {blob},
        staged BIGINT NOT NULL DEFAULT 0,
        sha256 TEXT,
        sm3 TEXT,
        md5 TEXT,
        blake3 TEXT,
        current BIGINT NOT NULL,
        ingested_at BIGINT NOT NULL,
        UNIQUE (collection_id, path_raw, version)
    )",
    "CREATE INDEX files_by_path ON files (collection_id, path_raw, current)",
    "CREATE INDEX files_by_sha256 ON files (sha256)",
    "CREATE INDEX files_by_sm3 ON files (sm3)",
    "CREATE INDEX files_by_md5 ON files (md5)",
    "CREATE INDEX files_by_blake3 ON files (blake3)",
    "CREATE TABLE plans (
        id {id},
        media TEXT NOT NULL,
        capacity_sectors BIGINT NOT NULL,
        reserve_permille BIGINT NOT NULL,
        volume_count BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE volumes (
        id {id},
        volume_id TEXT NOT NULL UNIQUE,
        plan_id BIGINT NOT NULL REFERENCES plans(id),
        seq BIGINT NOT NULL,
        seq_count BIGINT NOT NULL,
        media TEXT NOT NULL,
        capacity_sectors BIGINT NOT NULL,
        payload_bytes BIGINT NOT NULL,
        image_bytes BIGINT NOT NULL,
        state TEXT NOT NULL,
        image_sha256 TEXT,
        mastered_at BIGINT,
        format_version BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE volume_contents (
        volume BIGINT NOT NULL REFERENCES volumes(id),
        file_id BIGINT NOT NULL REFERENCES files(id),
        part BIGINT NOT NULL,
        parts BIGINT NOT NULL,
        part_offset BIGINT NOT NULL,
        length BIGINT NOT NULL,
        part_digests TEXT,
        lba BIGINT,
        PRIMARY KEY (volume, file_id, part)
    )",
    "CREATE INDEX volume_contents_by_file ON volume_contents (file_id)",
    "CREATE TABLE events (
        id {id},
        at BIGINT NOT NULL,
        event_type TEXT NOT NULL,
        agent TEXT NOT NULL,
        software TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        volume BIGINT,
        file_id BIGINT,
        collection_id BIGINT
    )",
],
// 2: copies and their places; events become a hash chain.
&[
    "CREATE TABLE copies (
        id {id},
        copy_id TEXT NOT NULL UNIQUE,
        volume BIGINT NOT NULL REFERENCES volumes(id),
        barcode TEXT NOT NULL UNIQUE,
        rfid TEXT UNIQUE,
        role TEXT NOT NULL,
        medium TEXT NOT NULL DEFAULT '',
        brand TEXT NOT NULL DEFAULT '',
        batch TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        site TEXT NOT NULL DEFAULT '',
        room TEXT NOT NULL DEFAULT '',
        cabinet TEXT NOT NULL DEFAULT '',
        shelf TEXT NOT NULL DEFAULT '',
        slot TEXT NOT NULL DEFAULT '',
        verified_at BIGINT,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX copies_by_volume ON copies (volume)",
    "CREATE INDEX copies_by_place ON copies (site, room, cabinet, shelf, slot)",
    "ALTER TABLE events ADD COLUMN copy BIGINT",
    "ALTER TABLE events ADD COLUMN prev_hash TEXT",
    "ALTER TABLE events ADD COLUMN hash TEXT",
    "CREATE TABLE event_head (one BIGINT PRIMARY KEY, last_id BIGINT NOT NULL, hash TEXT NOT NULL)",
],
// 3: disc quality measurements and grades.
&[
    "CREATE TABLE quality_measurements (
        id {id},
        copy BIGINT NOT NULL REFERENCES copies(id),
        measured_at BIGINT NOT NULL,
        metric TEXT NOT NULL,
        value {real} NOT NULL,
        grade TEXT NOT NULL,
        imported_at BIGINT NOT NULL
    )",
    "CREATE INDEX quality_by_copy ON quality_measurements (copy, measured_at)",
    "ALTER TABLE copies ADD COLUMN grade TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE copies ADD COLUMN graded_at BIGINT",
],
// 4: sector maps of read-back scans; migration lineage; publishing jobs; stored due dates (`copies.due_at`,
// NULL for copies not in inspection, kept with every change of a copy; recomputed for all
// when the inspection policy changes, see `catalog_settings.due_rule`).
&[
    "CREATE TABLE sector_maps (
        scan_key TEXT PRIMARY KEY,
        volume BIGINT NOT NULL REFERENCES volumes(id),
        map TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "ALTER TABLE copies ADD COLUMN replaces TEXT",
    "ALTER TABLE copies ADD COLUMN due_at BIGINT",
    "CREATE INDEX copies_by_due ON copies (due_at)",
    "CREATE TABLE catalog_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE jobs (
        id {id},
        job_id TEXT NOT NULL UNIQUE,
        volume BIGINT NOT NULL REFERENCES volumes(id),
        target TEXT NOT NULL,
        state TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX jobs_by_volume ON jobs (volume, state)",
    "CREATE TABLE job_copies (
        job BIGINT NOT NULL REFERENCES jobs(id),
        copy BIGINT NOT NULL REFERENCES copies(id),
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        medium TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (job, copy)
    )",
    "CREATE TABLE volume_lineage (
        volume BIGINT NOT NULL REFERENCES volumes(id),
        source_volume BIGINT NOT NULL REFERENCES volumes(id),
        reason TEXT NOT NULL,
        PRIMARY KEY (volume, source_volume)
    )",
],
// 5: recovery data of every volume, fixed when it is planned (so that it masters the same way
// again): PAR2 redundancy in permille of the protected bytes (0: none, as for every volume
// planned before) and the slices of each of its PAR2 sets; parity volumes and their members.
&[
    "ALTER TABLE volumes ADD COLUMN recovery_permille BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE volumes ADD COLUMN recovery_slices BIGINT NOT NULL DEFAULT 0",
    // Parity volumes: a disc of PAR2 data over the images of a group of data volumes.
    "ALTER TABLE volumes ADD COLUMN kind TEXT NOT NULL DEFAULT 'data'",
    "ALTER TABLE volumes ADD COLUMN parity_index BIGINT NOT NULL DEFAULT 0",
    "CREATE TABLE parity_members (
        parity BIGINT NOT NULL REFERENCES volumes(id),
        member BIGINT NOT NULL REFERENCES volumes(id),
        position BIGINT NOT NULL,
        PRIMARY KEY (parity, member)
    )",
    "CREATE INDEX parity_by_member ON parity_members (member)",
],
// 6: publishing: a job may burn a replacement disc of an existing copy (`job_copies.replaces`:
// the copy's state when it was asked for, '' for a new copy); every disc burned for a job that
// does not hold its copy (failed at the publisher, or damaged at the read-back) is kept with
// where it is and what to do with it, since it may carry the copy's label.
&[
    "ALTER TABLE job_copies ADD COLUMN replaces TEXT NOT NULL DEFAULT ''",
    "CREATE TABLE job_rejects (
        job BIGINT NOT NULL REFERENCES jobs(id),
        copy BIGINT NOT NULL REFERENCES copies(id),
        attempt BIGINT NOT NULL,
        disc TEXT NOT NULL,
        reason TEXT NOT NULL,
        place TEXT NOT NULL,
        label TEXT NOT NULL,
        action TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (job, copy, attempt)
    )",
],
// 7: PostgreSQL's path indexes (see POSTGRES_EXTRAS); nothing changes in SQLite.
&[],
// 8: totals of the current files per collection and state (`current`, `unplanned`, `planned`,
// `mastered`: see `Catalog::counts`), kept in the transactions that change them (ingest, plan,
// master) so that `status` reads a few rows instead of every file; the migration counts them
// for an existing catalog, `discvault check` compares them with a recount.
&[
    "CREATE TABLE file_totals (
        collection_id BIGINT NOT NULL REFERENCES collections(id),
        state TEXT NOT NULL,
        files BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        PRIMARY KEY (collection_id, state)
    )",
    // Lighter indexes on `files`, whose upkeep is most of the cost of recording a file (measured
    // on PostgreSQL: 26% less time to insert 150,000 rows). The digest indexes leave out the
    // NULLs of the algorithms not taken (a lookup `sm3 = ?` implies `sm3 IS NOT NULL`, so both
    // backends still use them); `files_by_path` was a prefix of the unique index.
    "DROP INDEX IF EXISTS files_by_path",
    "DROP INDEX IF EXISTS files_by_sha256",
    "DROP INDEX IF EXISTS files_by_sm3",
    "DROP INDEX IF EXISTS files_by_md5",
    "DROP INDEX IF EXISTS files_by_blake3",
    "CREATE INDEX files_by_sha256 ON files (sha256) WHERE sha256 IS NOT NULL",
    "CREATE INDEX files_by_sm3 ON files (sm3) WHERE sm3 IS NOT NULL",
    "CREATE INDEX files_by_md5 ON files (md5) WHERE md5 IS NOT NULL",
    "CREATE INDEX files_by_blake3 ON files (blake3) WHERE blake3 IS NOT NULL",
],
// 9: the server (`discvault serve`): users with a role and an argon2 hash of their password
// (empty: none), the tokens records systems present, stored as the SHA-256 of the token (a
// token is 256 random bits: a fast hash is enough), and tasks. Never on a disc.
&[
    "CREATE TABLE users (
        id {id},
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL DEFAULT '',
        disabled BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE tokens (
        id {id},
        token_id TEXT NOT NULL UNIQUE,
        user_id BIGINT NOT NULL REFERENCES users(id),
        secret_sha256 TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT
    )",
    // Long operations asked for through the server, run by workers (`model/tasks.rs`).
    "CREATE TABLE tasks (
        id {id},
        task_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        worker TEXT NOT NULL DEFAULT '',
        progress TEXT NOT NULL DEFAULT '',
        result TEXT,
        error TEXT NOT NULL DEFAULT '',
        cancel_requested BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX tasks_by_state ON tasks (state, id)",
],
// 10: webhooks (`model/webhooks.rs`): subscriptions with the secret that signs their messages
// and how far the audit trail was read for them, and the delivery log; tasks' heartbeats.
// Never on a disc.
&[
    "CREATE TABLE webhooks (
        id {id},
        webhook_id TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL,
        after_event BIGINT NOT NULL,
        inspection_day TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        removed_at BIGINT
    )",
    "CREATE TABLE deliveries (
        id {id},
        delivery_id TEXT NOT NULL UNIQUE,
        webhook BIGINT NOT NULL REFERENCES webhooks(id),
        event TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        last_status BIGINT NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL,
        delivered_at BIGINT
    )",
    "CREATE INDEX deliveries_due ON deliveries (state, next_at)",
    "CREATE INDEX deliveries_of ON deliveries (webhook, id)",
    // A running task's worker says it is alive: a task whose worker went silent (a station
    // that stopped) is marked interrupted by the other workers.
    "ALTER TABLE tasks ADD COLUMN heartbeat_at BIGINT NOT NULL DEFAULT 0",
],
// 11: browser sessions of the server (`accounts.rs`): the cookie's SHA-256 (like a token's),
// when it was made, last used, ends at the latest, and was ended (logout); the address it was
// made from. The table is the log of logins. Tokens' scopes (duties, comma-separated; empty:
// all the role may). Never on a disc.
&[
    "ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT ''",
    "CREATE TABLE sessions (
        id {id},
        session_id TEXT NOT NULL UNIQUE,
        user_id BIGINT NOT NULL REFERENCES users(id),
        secret_sha256 TEXT NOT NULL UNIQUE,
        client TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ended_at BIGINT
    )",
],
// 12: a task's last progress as a code and its arguments (JSON of `model::TaskStep`; empty
// before the first and for older tasks), so that the web UI says it in the reader's language.
&["ALTER TABLE tasks ADD COLUMN progress_step TEXT NOT NULL DEFAULT ''"],
// 13: the file systems of a volume's image (`iso9660`, or `bridge`: with a UDF tree too;
// format version 3). Every older volume is ISO 9660 only.
&["ALTER TABLE volumes ADD COLUMN file_systems TEXT NOT NULL DEFAULT 'iso9660'"],
];
