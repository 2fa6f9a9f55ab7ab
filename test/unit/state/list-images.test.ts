// The read side `status` renders: each image with where it runs, how its submission went and its issue counts.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {openStateStore} from '../../../src/state/state-store.ts'
import {manyObservations, observation} from './fixtures/state-fixtures.ts'
import {listImages} from '../../helpers/sqlite-store-reads.ts'

const dev = '/home/me/.kube/config#dev'
const prod = '/home/me/.kube/config#prod'
const day = 86_400_000

test('listImages joins placements, submission, projects and summed issue counts', (t) => {
  let now = 1_000
  const store = openStateStore(':memory:', {clock: () => now})
  t.after(() => store.close())
  const run = store.beginRun('sync')
  const api = {registry: 'ghcr.io', repository: 'acme/api', tag: '2.1'}
  const nginx = store.recordObservations(run, dev, [
    observation({target: dev, namespace: 'web', pod: 'web-1'}),
    observation({target: dev, namespace: 'api', pod: 'api-1', image: api, workload: {kind: 'StatefulSet', name: 'api'}}),
  ]).imageKeys
  store.recordObservations(run, prod, [observation({target: prod, cluster: 'prod', namespace: 'web', pod: 'web-a'})])
  const [nginxKey = '', apiKey = ''] = nginx

  store.claim(nginxKey, {runId: run, resubmitAfterMs: day, leaseMs: 60_000})
  store.markSubmitting(nginxKey, run)
  now = 2_000
  store.recordSubmitted(nginxKey, run, {integrationId: 'int-hub', integrationType: 'docker-hub', targetName: 'library/nginx:1.25', jobUrl: 'https://api.snyk.io/v1/org/o/integrations/int-hub/import/job-1'})
  now = 3_000
  store.recordMonitored(nginxKey, {projects: [{id: 'p-os', name: 'library/nginx:1.25'}, {id: 'p-app', name: 'library/nginx:1.25:/app/package.json'}]})
  store.claim(apiKey, {runId: run, resubmitAfterMs: day, leaseMs: 60_000})
  store.recordSkipped(apiKey, run, {reason: 'no Snyk integration for ghcr.io', fix: 'add a GitHub Container Registry integration'})
  now = 4_000
  store.recordIssueCounts([
    {projectId: 'p-os', critical: 1, high: 4, medium: 10, low: 20},
    {projectId: 'p-app', critical: 0, high: 1, medium: 2, low: 3},
    {projectId: 'someone-elses-project', critical: 9, high: 9, medium: 9, low: 9},
  ])

  const listed = listImages(store)
  assert.deepEqual(
    listed.map((image) => image.key),
    [nginxKey, apiKey],
  )
  const [nginxListing, apiListing] = listed
  assert.deepEqual(nginxListing, {
    key: nginxKey,
    image: {registry: 'docker.io', repository: 'library/nginx', tag: '1.25', digest: nginxKey.split('@')[1]},
    firstSeen: 1_000,
    lastSeen: 1_000,
    placements: [
      {target: dev, cluster: 'dev', namespace: 'web', pod: 'web-1', container: 'web', containerKind: 'container', workload: {kind: 'Deployment', name: 'web'}, reference: 'docker.io/library/nginx:1.25', lastSeen: 1_000, runId: run},
      {target: prod, cluster: 'prod', namespace: 'web', pod: 'web-a', container: 'web', containerKind: 'container', workload: {kind: 'Deployment', name: 'web'}, reference: 'docker.io/library/nginx:1.25', lastSeen: 1_000, runId: run},
    ],
    submission: {
      state: 'monitored',
      attempts: 1,
      updatedAt: 3_000,
      integrationId: 'int-hub',
      integrationType: 'docker-hub',
      targetName: 'library/nginx:1.25',
      jobUrl: 'https://api.snyk.io/v1/org/o/integrations/int-hub/import/job-1',
      submittedAt: 2_000,
      monitoredAt: 3_000,
      projects: [
        {id: 'p-app', name: 'library/nginx:1.25:/app/package.json'},
        {id: 'p-os', name: 'library/nginx:1.25'},
      ],
    },
    issues: {critical: 1, high: 5, medium: 12, low: 23, updatedAt: 4_000},
  })
  assert.equal(apiListing?.submission?.state, 'skipped')
  assert.deepEqual(apiListing.submission.skip, {reason: 'no Snyk integration for ghcr.io', fix: 'add a GitHub Container Registry integration'})
  assert.deepEqual(apiListing.submission.projects, [])
  assert.equal(apiListing.issues, undefined, 'no counts known')
})

test('listImages filters by cluster, namespace, target and state', (t) => {
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const run = store.beginRun('sync')
  const devKeys = store.recordObservations(run, dev, manyObservations(40, {target: dev, cluster: 'dev'})).imageKeys
  store.recordObservations(run, prod, manyObservations(10, {target: prod, cluster: 'prod', prefix: 'svc'}))
  store.claimMany(devKeys.slice(0, 5), {runId: run, resubmitAfterMs: day, leaseMs: 60_000})

  assert.equal(listImages(store).length, 50)
  assert.equal(listImages(store, {clusters: ['prod']}).length, 10)
  assert.equal(listImages(store, {targets: [dev]}).length, 40)
  const inNs3 = listImages(store, {clusters: ['dev', 'prod'], namespaces: ['ns-3']})
  assert.equal(inNs3.length, 2 + 1)
  assert.ok(inNs3.every((image) => image.placements.every((p) => p.namespace === 'ns-3')))
  assert.equal(listImages(store, {states: ['queued']}).length, 5)
  assert.equal(listImages(store, {states: ['none']}).length, 45)
  assert.equal(listImages(store, {states: ['queued', 'none']}).length, 50)
  assert.equal(listImages(store, {states: []}).length, 0)
  assert.equal(listImages(store, {clusters: []}).length, 0)
})

test('listImages returns 20,000 images with their placements', (t) => {
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const run = store.beginRun('sync')
  for (let cluster = 0; cluster < 4; cluster++) {
    const target = `kc#cluster-${cluster}`
    store.recordObservations(run, target, manyObservations(5_000, {target, cluster: `cluster-${cluster}`, prefix: `c${cluster}`}))
  }
  const listed = listImages(store)
  assert.equal(listed.length, 20_000)
  assert.ok(listed.every((image) => image.placements.length === 1))
})
