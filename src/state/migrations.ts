// The state database's schema, as an ordered list of migrations. `PRAGMA user_version` holds how many have
// been applied. A released migration is never edited: change the schema by appending one.
import type {DatabaseSync} from 'node:sqlite'

export type Migration = (db: DatabaseSync) => void

const v1: Migration = (db) => {
  // Images get an integer id: the other tables refer to it (small rows, fast joins); `key` is the public identity.
  db.exec(`
    CREATE TABLE runs (
      id TEXT PRIMARY KEY,
      command TEXT NOT NULL,
      pid INTEGER NOT NULL,
      host TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      finished_at INTEGER,
      outcome TEXT CHECK (outcome IN ('succeeded', 'partial', 'failed', 'interrupted')),
      counts TEXT
    ) STRICT;

    CREATE TABLE images (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL UNIQUE,
      registry TEXT NOT NULL,
      repository TEXT NOT NULL,
      tag TEXT,
      digest TEXT,
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE placements (
      target TEXT NOT NULL,
      namespace TEXT NOT NULL,
      pod TEXT NOT NULL,
      container_kind TEXT NOT NULL CHECK (container_kind IN ('container', 'init', 'ephemeral')),
      container TEXT NOT NULL,
      cluster TEXT NOT NULL,
      workload_kind TEXT NOT NULL,
      workload_name TEXT NOT NULL,
      reference TEXT NOT NULL,
      image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
      last_seen INTEGER NOT NULL,
      run_id TEXT NOT NULL,
      PRIMARY KEY (target, namespace, pod, container_kind, container)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX placements_by_image ON placements (image_id);

    CREATE TABLE submissions (
      image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
      state TEXT NOT NULL CHECK (state IN ('queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped')),
      attempts INTEGER NOT NULL DEFAULT 0,
      integration_id TEXT,
      integration_type TEXT,
      target_name TEXT,
      job_url TEXT,
      projects TEXT,
      last_error TEXT,
      error_retryable INTEGER,
      skip_reason TEXT,
      skip_fix TEXT,
      submitted_at INTEGER,
      monitored_at INTEGER,
      claimed_by TEXT,
      claim_expires_at INTEGER,
      updated_at INTEGER NOT NULL,
      updated_by TEXT
    ) STRICT;
    CREATE INDEX submissions_unfinished ON submissions (state) WHERE state IN ('queued', 'submitting');
    CREATE INDEX submissions_by_claim ON submissions (claimed_by) WHERE claimed_by IS NOT NULL;

    CREATE TABLE tag_digests (
      tag TEXT NOT NULL,
      digest TEXT NOT NULL,
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      PRIMARY KEY (tag, digest)
    ) STRICT, WITHOUT ROWID;
  `)
}

/** v2, for `status`: Snyk projects get their own table (out of submissions.projects JSON), and their issue counts. */
const v2: Migration = (db) => {
  db.exec(`
    CREATE TABLE projects (
      id TEXT PRIMARY KEY,
      image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
      name TEXT,
      url TEXT,
      recorded_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX projects_by_image ON projects (image_id);

    INSERT OR IGNORE INTO projects (id, image_id, name, url, recorded_at)
      SELECT json_extract(p.value, '$.id'), s.image_id, json_extract(p.value, '$.name'), json_extract(p.value, '$.url'),
             coalesce(s.monitored_at, s.updated_at)
      FROM submissions s, json_each(s.projects) p
      WHERE s.projects IS NOT NULL AND json_valid(s.projects) AND json_extract(p.value, '$.id') IS NOT NULL;
    ALTER TABLE submissions DROP COLUMN projects;

    CREATE TABLE issue_counts (
      project_id TEXT PRIMARY KEY,
      critical INTEGER NOT NULL,
      high INTEGER NOT NULL,
      medium INTEGER NOT NULL,
      low INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
  `)
}

/**
 * v3, FIPS classification and `status` over many images:
 * - the pod's `snyk-watch.io/fips` annotation with each placement (1 true, 0 false, NULL none). Existing
 *   placements get NULL: the next listing of their target fills it in.
 * - placements_by_image covers what a report reads of a placement, so reading placements by image id needs no
 *   lookup in the table; within an image it keeps primary-key order (the display order).
 */
const v3: Migration = (db) => {
  db.exec(`
    ALTER TABLE placements ADD COLUMN fips_annotation INTEGER CHECK (fips_annotation IN (0, 1));
    DROP INDEX placements_by_image;
    CREATE INDEX placements_by_image ON placements (image_id, target, namespace, pod, container_kind, container, cluster, workload_kind, workload_name, fips_annotation);
  `)
}

/** Applied in order; `migrations[i]` takes the schema from version i to i + 1. */
export const migrations: readonly Migration[] = [v1, v2, v3]

export const latestSchemaVersion = migrations.length

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get()
  return Number(row?.['user_version'] ?? 0)
}

/**
 * Applies the missing migrations, each in its own `BEGIN IMMEDIATE` transaction together with the new
 * `user_version`, so a crash leaves the schema at a version boundary and two processes opening the same
 * file at once apply each migration once. The caller checks first that the file is not newer than the code.
 */
export function migrate(db: DatabaseSync): {from: number; to: number} {
  const from = schemaVersion(db)
  for (let version = from; version < latestSchemaVersion; version++) {
    db.exec('BEGIN IMMEDIATE')
    try {
      const current = schemaVersion(db)
      if (current === version) {
        migrations[version]?.(db)
        db.exec(`PRAGMA user_version = ${version + 1}`)
      }
      db.exec('COMMIT')
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw error
    }
  }
  return {from, to: Math.max(from, latestSchemaVersion)}
}
