// Opening the state store: a private file in the right place, schema migrations, and clear refusals.
import assert from 'node:assert/strict'
import {statSync, writeFileSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import {DatabaseSync} from 'node:sqlite'
import {test} from 'node:test'
import {latestSchemaVersion} from '../../../src/state/migrations.ts'
import {StateStoreError} from '../../../src/state/state-store-error.ts'
import {defaultStatePath, openStateStore} from '../../../src/state/state-store.ts'
import {temporaryStatePath} from './fixtures/state-fixtures.ts'
import {lastRun, listImages, schemaVersionOf} from '../../helpers/sqlite-store-reads.ts'

test('a fresh store is created with private permissions, WAL and the latest schema', (t) => {
  const file = temporaryStatePath(t)
  const store = openStateStore(file)
  t.after(() => store.close())
  store.beginRun('sync')

  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700)
  assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600, 'SQLite gives the WAL file the database file mode')
  assert.equal(schemaVersionOf(store), latestSchemaVersion)

  const raw = new DatabaseSync(file, {readOnly: true})
  t.after(() => raw.close())
  assert.equal(raw.prepare('PRAGMA journal_mode').get()?.['journal_mode'], 'wal')
})

test('reopening an existing store keeps its data', (t) => {
  const file = temporaryStatePath(t)
  const first = openStateStore(file, {clock: () => 1_000})
  const runId = first.beginRun('sync')
  first.close()
  first.close()
  const second = openStateStore(file)
  t.after(() => second.close())
  assert.equal(second.getRun(runId)?.startedAt, 1_000)
})

test('defaultStatePath follows XDG_STATE_HOME, else ~/.local/state', () => {
  assert.equal(defaultStatePath({XDG_STATE_HOME: '/var/state'}, '/home/me'), '/var/state/kubectl-snyk-watch/state.db')
  assert.equal(defaultStatePath({}, '/home/me'), '/home/me/.local/state/kubectl-snyk-watch/state.db')
  assert.equal(defaultStatePath({XDG_STATE_HOME: 'relative/dir'}, '/home/me'), '/home/me/.local/state/kubectl-snyk-watch/state.db', 'a relative XDG_STATE_HOME is ignored, as the spec says')
  assert.equal(defaultStatePath({HOME: '/home/other'}), '/home/other/.local/state/kubectl-snyk-watch/state.db')
})

test('a store written by a newer version is refused with a typed error and a fix', (t) => {
  const file = temporaryStatePath(t)
  openStateStore(file).close()
  const raw = new DatabaseSync(file)
  raw.exec(`PRAGMA user_version = ${latestSchemaVersion + 1}`)
  raw.close()

  assert.throws(
    () => openStateStore(file),
    (error: unknown) => {
      assert.ok(error instanceof StateStoreError)
      assert.equal(error.code, 'STATE_STORE_TOO_NEW')
      assert.equal(error.exitCode, 2)
      assert.match(error.message, new RegExp(`schema version ${latestSchemaVersion + 1}.*up to ${latestSchemaVersion}`))
      assert.ok(error.suggestions.some((s) => /upgrade/.test(s)))
      assert.ok(error.suggestions.some((s) => /--state/.test(s)))
      return true
    },
  )
  const check = new DatabaseSync(file, {readOnly: true})
  t.after(() => check.close())
  assert.equal(check.prepare('PRAGMA user_version').get()?.['user_version'], latestSchemaVersion + 1, 'the newer file is left untouched')
})

test('a file that is not a state database is refused with a typed error', (t) => {
  const file = temporaryStatePath(t)
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, 'apiVersion: v1\nkind: Config\n'.repeat(200))
  assert.throws(() => openStateStore(file), (error: unknown) => error instanceof StateStoreError && error.code === 'STATE_STORE_UNREADABLE' && error.suggestions.length > 0)
})

test('a directory that cannot be created is reported as unwritable', (t) => {
  const file = temporaryStatePath(t)
  mkdirSync(path.dirname(path.dirname(file)), {recursive: true})
  writeFileSync(path.dirname(file), 'a file where the directory should be')
  assert.throws(() => openStateStore(file), (error: unknown) => error instanceof StateStoreError && error.code === 'STATE_STORE_UNWRITABLE')
})

// The v1 schema exactly as released. Never edit: it is what existing state files contain.
const v1Schema = `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY, command TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, started_at INTEGER NOT NULL,
    finished_at INTEGER, outcome TEXT CHECK (outcome IN ('succeeded', 'partial', 'failed', 'interrupted')), counts TEXT
  ) STRICT;
  CREATE TABLE images (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, registry TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT, digest TEXT,
    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE placements (
    target TEXT NOT NULL, namespace TEXT NOT NULL, pod TEXT NOT NULL,
    container_kind TEXT NOT NULL CHECK (container_kind IN ('container', 'init', 'ephemeral')), container TEXT NOT NULL,
    cluster TEXT NOT NULL, workload_kind TEXT NOT NULL, workload_name TEXT NOT NULL, reference TEXT NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE, last_seen INTEGER NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (target, namespace, pod, container_kind, container)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX placements_by_image ON placements (image_id);
  CREATE TABLE submissions (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0, integration_id TEXT, integration_type TEXT, target_name TEXT, job_url TEXT,
    projects TEXT, last_error TEXT, error_retryable INTEGER, skip_reason TEXT, skip_fix TEXT,
    submitted_at INTEGER, monitored_at INTEGER, claimed_by TEXT, claim_expires_at INTEGER,
    updated_at INTEGER NOT NULL, updated_by TEXT
  ) STRICT;
  CREATE INDEX submissions_unfinished ON submissions (state) WHERE state IN ('queued', 'submitting');
  CREATE INDEX submissions_by_claim ON submissions (claimed_by) WHERE claimed_by IS NOT NULL;
  CREATE TABLE tag_digests (
    tag TEXT NOT NULL, digest TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
    PRIMARY KEY (tag, digest)
  ) STRICT, WITHOUT ROWID;
  PRAGMA user_version = 1;
`

test('a v1 store is migrated to the latest schema with its data, including project ids moved out of JSON', (t) => {
  const file = temporaryStatePath(t)
  mkdirSync(path.dirname(file), {recursive: true})
  const v1 = new DatabaseSync(file)
  v1.exec(v1Schema)
  v1.exec(`
    INSERT INTO runs VALUES ('run-1', 'sync', 42, 'laptop', 1000, 2000, 'succeeded', '{"submitted":1}');
    INSERT INTO images VALUES (7, 'docker.io/library/nginx:1.25@sha256:aa', 'docker.io', 'library/nginx', '1.25', 'sha256:aa', 1000, 1500);
    INSERT INTO images VALUES (8, 'ghcr.io/acme/api:2', 'ghcr.io', 'acme/api', '2', NULL, 1000, 1500);
    INSERT INTO placements VALUES ('kc#dev', 'web', 'nginx-1', 'container', 'nginx', 'dev', 'Deployment', 'nginx', 'nginx:1.25', 7, 1500, 'run-1');
    INSERT INTO submissions (image_id, state, attempts, integration_id, integration_type, target_name, job_url, projects, submitted_at, monitored_at, updated_at, updated_by)
      VALUES (7, 'monitored', 1, 'int-1', 'docker-hub', 'library/nginx:1.25', 'https://api.snyk.io/v1/org/o/integrations/int-1/import/job-1',
        '[{"id":"proj-1","url":"https://app.snyk.io/org/o/project/proj-1"},{"id":"proj-2"}]', 1200, 1300, 1300, 'run-1');
    INSERT INTO submissions (image_id, state, attempts, skip_reason, skip_fix, updated_at, updated_by)
      VALUES (8, 'skipped', 0, 'no Snyk integration for ghcr.io', 'add one', 1300, 'run-1');
    INSERT INTO tag_digests VALUES ('docker.io/library/nginx:1.25', 'sha256:aa', 1000, 1500);
  `)
  v1.close()

  const store = openStateStore(file, {clock: () => 5_000})
  t.after(() => store.close())
  assert.equal(schemaVersionOf(store), latestSchemaVersion)
  assert.deepEqual(store.getRun('run-1'), {id: 'run-1', command: 'sync', pid: 42, host: 'laptop', startedAt: 1000, finishedAt: 2000, outcome: 'succeeded', counts: {submitted: 1}})

  store.recordIssueCounts([{projectId: 'proj-1', critical: 1, high: 2, medium: 3, low: 4}])
  const [nginx, ...others] = listImages(store)
  assert.equal(nginx?.key, 'docker.io/library/nginx:1.25@sha256:aa')
  assert.equal(nginx.submission?.state, 'monitored')
  assert.deepEqual(nginx.submission.projects, [{id: 'proj-1', url: 'https://app.snyk.io/org/o/project/proj-1'}, {id: 'proj-2'}])
  assert.deepEqual(nginx.issues, {critical: 1, high: 2, medium: 3, low: 4, updatedAt: 5_000})
  assert.deepEqual(nginx.placements.map((p) => `${p.cluster}/${p.namespace}/${p.pod}`), ['dev/web/nginx-1'])
  assert.deepEqual(others, [], 'an image without a current placement is not listed by default')
  const withHistory = listImages(store, {includeNotRunning: true})
  assert.deepEqual(withHistory.map((image) => image.key), ['docker.io/library/nginx:1.25@sha256:aa', 'ghcr.io/acme/api:2'])
  assert.deepEqual(withHistory[1]?.submission?.skip, {reason: 'no Snyk integration for ghcr.io', fix: 'add one'})

  const raw = new DatabaseSync(file, {readOnly: true})
  t.after(() => raw.close())
  const columns = raw.prepare("SELECT name FROM pragma_table_info('submissions')").all().map((row) => row['name'])
  assert.ok(!columns.includes('projects'), 'the JSON column is gone')
  assert.deepEqual(raw.prepare('PRAGMA foreign_key_check').all(), [])
  assert.equal(raw.prepare('PRAGMA integrity_check').get()?.['integrity_check'], 'ok')
})

test('a write that waits longer than the busy timeout for another process fails with a typed error, and nothing half-done', (t) => {
  const file = temporaryStatePath(t)
  const store = openStateStore(file, {busyTimeoutMs: 50})
  t.after(() => store.close())
  const other = new DatabaseSync(file)
  t.after(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  const started = Date.now()
  assert.throws(
    () => store.beginRun('sync'),
    (error: unknown) => error instanceof StateStoreError && error.code === 'STATE_STORE_BUSY' && error.suggestions.length > 0,
  )
  assert.ok(Date.now() - started >= 40, 'it waited for the lock first')
  other.exec('ROLLBACK')
  assert.equal(typeof store.beginRun('sync'), 'string', 'works again once the lock is released')
  assert.equal(lastRun(store)?.command, 'sync')
})
