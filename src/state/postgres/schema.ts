// The PostgreSQL state database's schema: the SQLite schema's tables and meanings (src/state/migrations.ts), in
// PostgreSQL's types, as an ordered list of migrations. `snyk_watch_schema.version` holds how many have been applied.
// A released migration is never edited: change the schema by appending one.
import {StateStoreError} from '../state-store-error.ts'
import type {Queryable} from './connection.ts'

const v1 = `
  CREATE TABLE runs (
    id text PRIMARY KEY,
    command text NOT NULL,
    pid integer NOT NULL,
    host text NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint,
    outcome text CHECK (outcome IN ('succeeded', 'partial', 'failed', 'interrupted')),
    counts jsonb
  );

  CREATE TABLE images (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL UNIQUE,
    registry text NOT NULL,
    repository text NOT NULL,
    tag text,
    digest text,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL
  );

  CREATE TABLE placements (
    target text NOT NULL,
    namespace text NOT NULL,
    pod text NOT NULL,
    container_kind text NOT NULL CHECK (container_kind IN ('container', 'init', 'ephemeral')),
    container text NOT NULL,
    cluster text NOT NULL,
    workload_kind text NOT NULL,
    workload_name text NOT NULL,
    reference text NOT NULL,
    image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    last_seen bigint NOT NULL,
    run_id text NOT NULL,
    fips_annotation boolean,
    PRIMARY KEY (target, namespace, pod, container_kind, container)
  );
  CREATE INDEX placements_by_image ON placements (image_id) INCLUDE (target, cluster, namespace, workload_kind, workload_name, fips_annotation);
  CREATE INDEX placements_by_last_seen ON placements (last_seen);

  CREATE TABLE submissions (
    image_id bigint PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    state text NOT NULL CHECK (state IN ('queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped')),
    attempts integer NOT NULL DEFAULT 0,
    integration_id text,
    integration_type text,
    target_name text,
    job_url text,
    last_error text,
    error_retryable boolean,
    skip_reason text,
    skip_fix text,
    submitted_at bigint,
    monitored_at bigint,
    claimed_by text,
    claim_expires_at bigint,
    updated_at bigint NOT NULL,
    updated_by text
  );
  CREATE INDEX submissions_unfinished ON submissions (state) WHERE state IN ('queued', 'submitting');
  CREATE INDEX submissions_by_claim ON submissions (claimed_by) WHERE claimed_by IS NOT NULL;

  CREATE TABLE tag_digests (
    tag text NOT NULL,
    digest text NOT NULL,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    PRIMARY KEY (tag, digest)
  );

  CREATE TABLE projects (
    id text PRIMARY KEY,
    image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    name text,
    url text,
    recorded_at bigint NOT NULL
  );
  CREATE INDEX projects_by_image ON projects (image_id);

  CREATE TABLE issue_counts (
    project_id text PRIMARY KEY,
    critical integer NOT NULL,
    high integer NOT NULL,
    medium integer NOT NULL,
    low integer NOT NULL,
    updated_at bigint NOT NULL
  );

  -- Live views (status --watch) LISTEN on this channel: every committed change of what status shows notifies it
  -- once per transaction (PostgreSQL folds equal notifications of one transaction into one).
  CREATE FUNCTION snyk_watch_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('snyk_watch_changes', '');
    RETURN NULL;
  END $$;
  CREATE TRIGGER images_changed AFTER INSERT OR UPDATE OR DELETE ON images FOR EACH STATEMENT EXECUTE FUNCTION snyk_watch_notify_change();
  CREATE TRIGGER placements_changed AFTER INSERT OR UPDATE OR DELETE ON placements FOR EACH STATEMENT EXECUTE FUNCTION snyk_watch_notify_change();
  CREATE TRIGGER submissions_changed AFTER INSERT OR UPDATE OR DELETE ON submissions FOR EACH STATEMENT EXECUTE FUNCTION snyk_watch_notify_change();
  CREATE TRIGGER projects_changed AFTER INSERT OR UPDATE OR DELETE ON projects FOR EACH STATEMENT EXECUTE FUNCTION snyk_watch_notify_change();
  CREATE TRIGGER issue_counts_changed AFTER INSERT OR UPDATE OR DELETE ON issue_counts FOR EACH STATEMENT EXECUTE FUNCTION snyk_watch_notify_change();
`

/** Applied in order; `migrations[i]` takes the schema from version i to i + 1. */
export const postgresMigrations: readonly string[] = [v1]

export const latestPostgresSchemaVersion = postgresMigrations.length

/** The channel every change is notified on. */
export const changesChannel = 'snyk_watch_changes'

/** An advisory lock key of our own (a constant; `pg_advisory_xact_lock` releases it at the end of the transaction). */
const migrationLock = 0x736e796b // "snyk"

/**
 * Applies the missing migrations inside the caller's transaction, holding an advisory lock, so that processes
 * starting together wait for each other and apply each migration once. Refuses a schema newer than this code.
 */
export async function migratePostgres(q: Queryable, shownUrl: string): Promise<{from: number; to: number}> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [migrationLock])
  await q.query('CREATE TABLE IF NOT EXISTS snyk_watch_schema (version integer NOT NULL)')
  const {rows} = await q.query<{version: number}>('SELECT version FROM snyk_watch_schema')
  const from = rows[0]?.version ?? 0
  if (rows.length === 0) await q.query('INSERT INTO snyk_watch_schema (version) VALUES (0)')
  if (from > latestPostgresSchemaVersion) {
    throw new StateStoreError(`the state database ${shownUrl} has schema version ${from}, written by a newer kubectl-snyk-watch; this version understands up to ${latestPostgresSchemaVersion}`, {
      code: 'STATE_STORE_TOO_NEW',
      path: shownUrl,
      suggestions: ['upgrade kubectl-snyk-watch on every machine that shares this database', 'or point --state at another database'],
    })
  }
  for (let version = from; version < latestPostgresSchemaVersion; version++) await q.query(postgresMigrations[version]!)
  if (from < latestPostgresSchemaVersion) await q.query('UPDATE snyk_watch_schema SET version = $1', [latestPostgresSchemaVersion])
  return {from, to: Math.max(from, latestPostgresSchemaVersion)}
}
