// What reports read: image summaries (whole or a chunk at a time), the FIPS annotation kept with each placement,
// the v3 migration that added it, and the data version a live view polls.
import assert from 'node:assert/strict'
import {mkdirSync} from 'node:fs'
import path from 'node:path'
import {DatabaseSync} from 'node:sqlite'
import {test} from 'node:test'
import {latestSchemaVersion, migrations} from '../../../src/state/migrations.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import {manyObservations, observation, temporaryStatePath} from './fixtures/state-fixtures.ts'
import {listImageSummaries, listImages, schemaVersionOf} from '../../helpers/sqlite-store-reads.ts'

const dev = '/home/me/.kube/config#dev'
const day = 86_400_000

test('the pod FIPS annotation is stored with each placement and replaced by the next listing', (t) => {
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const run = store.beginRun('sync')
  store.recordObservations(run, dev, [
    {...observation({namespace: 'web', pod: 'web-1'}), fipsAnnotation: true},
    {...observation({namespace: 'web', pod: 'web-2'}), fipsAnnotation: false},
    observation({namespace: 'web', pod: 'web-3'}),
  ])
  const [nginx] = listImages(store)
  assert.deepEqual(nginx?.placements.map((p) => [p.pod, p.fipsAnnotation]), [['web-1', true], ['web-2', false], ['web-3', undefined]])
  assert.equal('fipsAnnotation' in nginx.placements[2]!, false, 'absent, not undefined')

  store.recordObservations(run, dev, [observation({namespace: 'web', pod: 'web-1'}), {...observation({namespace: 'web', pod: 'web-3'}), fipsAnnotation: true}], {mode: 'merge'})
  assert.deepEqual(listImageSummaries(store)[0]?.placements.map((p) => p.fipsAnnotation), [undefined, false, true], 'an annotation removed from a pod is gone')
})

test('summaries are listImages without pod-level detail, in the same order and with the same filters', (t) => {
  const store = openStateStore(':memory:', {clock: () => 5_000})
  t.after(() => store.close())
  const run = store.beginRun('sync')
  store.recordObservations(run, dev, manyObservations(30, {target: dev}))
  const keys = listImages(store).map((image) => image.key)
  store.claim(keys[3]!, {runId: run, resubmitAfterMs: day, leaseMs: 60_000})
  store.recordSubmitted(keys[3]!, run, {integrationId: 'i', integrationType: 'harbor-cr', targetName: 'team/app:v1', jobUrl: 'https://api.snyk.io/job'})
  store.recordMonitored(keys[3]!, {projects: [{id: 'p-2', url: 'https://app.snyk.io/p-2'}, {id: 'p-1'}]})
  store.recordIssueCounts([{projectId: 'p-1', critical: 1, high: 2, medium: 3, low: 4}, {projectId: 'p-2', critical: 1, high: 0, medium: 0, low: 0, updatedAt: 9_000}])
  store.claim(keys[4]!, {runId: run, resubmitAfterMs: day, leaseMs: 60_000})
  store.recordFailed(keys[4]!, run, {error: 'Snyk answered 400', retryable: false})

  const full = listImages(store)
  const summaries = listImageSummaries(store)
  assert.deepEqual(summaries.map((s) => s.key), full.map((l) => l.key))
  for (const [i, summary] of summaries.entries()) {
    const listing = full[i]!
    assert.deepEqual(summary.image, listing.image)
    assert.deepEqual(summary.issues, listing.issues)
    assert.deepEqual(summary.placements, listing.placements.map(({target, cluster, namespace, workload}) => ({target, cluster, namespace, workload})))
    assert.equal(summary.submission?.state, listing.submission?.state)
  }
  const monitored = summaries.find((s) => s.key === keys[3])!
  assert.deepEqual(monitored.submission, {state: 'monitored', updatedAt: 5_000, submittedAt: 5_000, monitoredAt: 5_000, projects: [{id: 'p-1'}, {id: 'p-2', url: 'https://app.snyk.io/p-2'}]})
  assert.deepEqual(monitored.issues, {critical: 2, high: 2, medium: 3, low: 4, updatedAt: 9_000})
  assert.deepEqual(summaries.find((s) => s.key === keys[4])?.submission?.error, {message: 'Snyk answered 400', retryable: false})
  assert.equal(listImageSummaries(store, {namespaces: ['ns-3']}).length, 2)
  assert.deepEqual(listImageSummaries(store, {states: ['monitored']}).map((s) => s.key), [keys[3]])
})

test('visitImageSummaries hands every image over in chunks from one snapshot', (t) => {
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const run = store.beginRun('sync')
  store.recordObservations(run, dev, manyObservations(25, {target: dev}))
  store.recordObservations(run, 'kc#gone', manyObservations(3, {target: 'kc#gone', prefix: 'old'}))
  store.recordObservations(run, 'kc#gone', [])

  const chunks: number[] = []
  const seen: string[] = []
  store.visitImageSummaries({}, (chunk) => {
    chunks.push(chunk.length)
    seen.push(...chunk.map((s) => s.key))
  }, 10)
  assert.deepEqual(chunks, [10, 10, 5])
  assert.deepEqual([...seen].sort(), listImageSummaries(store).map((s) => s.key))

  const all: string[] = []
  store.visitImageSummaries({includeNotRunning: true}, (chunk) => all.push(...chunk.map((s) => s.key)), 7)
  assert.equal(all.length, 28, 'images no longer running, with includeNotRunning')
  assert.throws(() => store.visitImageSummaries({}, () => {}, 0), /chunkSize must be a positive integer/)
})

test('a v2 store is migrated to v3: placements keep their rows and get no FIPS annotation until the next listing', (t) => {
  const file = temporaryStatePath(t)
  mkdirSync(path.dirname(file), {recursive: true})
  const v2 = new DatabaseSync(file)
  for (const migration of migrations.slice(0, 2)) migration(v2)
  v2.exec(`
    PRAGMA user_version = 2;
    INSERT INTO images VALUES (7, 'docker.io/library/nginx@sha256:aa', 'docker.io', 'library/nginx', '1.25', 'sha256:aa', 1000, 1500);
    INSERT INTO placements VALUES ('kc#dev', 'web', 'nginx-1', 'container', 'nginx', 'dev', 'Deployment', 'nginx', 'nginx:1.25', 7, 1500, 'run-1');
  `)
  v2.close()

  const store = openStateStore(file)
  t.after(() => store.close())
  assert.equal(schemaVersionOf(store), latestSchemaVersion)
  const [nginx] = listImages(store)
  assert.deepEqual(nginx?.placements.map((p) => [p.pod, p.fipsAnnotation]), [['nginx-1', undefined]])

  const raw = new DatabaseSync(file, {readOnly: true})
  t.after(() => raw.close())
  const columns = raw.prepare('SELECT name FROM pragma_index_info(\'placements_by_image\')').all().map((row) => row['name'])
  assert.deepEqual(columns, ['image_id', 'target', 'namespace', 'pod', 'container_kind', 'container', 'cluster', 'workload_kind', 'workload_name', 'fips_annotation'], 'reports read placements from the index alone, in primary-key order')
  assert.equal(raw.prepare('PRAGMA integrity_check').get()?.['integrity_check'], 'ok')
})

test('dataVersion changes when another connection commits, not on reads', (t) => {
  const file = temporaryStatePath(t)
  const reader = openStateStore(file)
  t.after(() => reader.close())
  const writer = openStateStore(file)
  t.after(() => writer.close())
  const before = reader.dataVersion()
  listImageSummaries(reader)
  assert.equal(reader.dataVersion(), before)
  writer.beginRun('sync')
  assert.notEqual(reader.dataVersion(), before)
})
