// `sync`'s driver of the pipeline against fakes at its boundaries: a fake API client per target, a fake
// submitter, and the state store in memory. What a user of `sync` would notice: each unique image imported once
// across targets, outcomes recorded, a second run importing nothing, a stop or a refused token losing nothing.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {AuthError} from '../../../src/errors.ts'
import type {KubeApiClient} from '../../../src/kube/kube-api-client.ts'
import type {Target} from '../../../src/kube/target.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import type {SqliteStateStore} from '../../../src/state/sqlite/sqlite-state-store.ts'
import type {ImageSubmitter} from '../../../src/submit/image-submitter.ts'
import type {SyncProgress} from '../../../src/sync/sync-progress.ts'
import {runSync, type SyncDeps} from '../../../src/sync/sync-service.ts'
import {fakeKube, fakeTarget, runningPod, type FakeKube} from '../fakes/fake-kube.ts'
import {fakeSubmitter} from '../fakes/fake-submitter.ts'

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`
const silent: SyncProgress = {targetsStarted() {}, targetListing() {}, targetDone() {}, submissionsStarted() {}, submissionUpdate() {}, submissionsDone() {}, close: async () => {}}

function twoClusters(): Map<string, FakeKube> {
  const dev = fakeTarget('dev')
  const prod = fakeTarget('prod')
  return new Map([
    [dev.id, fakeKube(dev, [runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}]), runningPod('shop', 'api', [{image: 'redis:7', digest: digest(2)}, {image: 'nginx:1.27', digest: digest(1)}])])],
    [prod.id, fakeKube(prod, [runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}]), runningPod('jobs', 'worker', [{image: 'busybox:1.36', digest: digest(3)}])])],
  ])
}

function deps(t: {after: (fn: () => void) => void}, kube: Map<string, FakeKube>, submitter: ImageSubmitter, more: Partial<SyncDeps> & {store?: SqliteStateStore} = {}): SyncDeps & {store: SqliteStateStore} {
  const store = more.store ?? openStateStore(':memory:')
  if (!more.store) t.after(() => store.close())
  return {
    targets: [...kube.values()].map((fake) => fake.client.target as Target),
    scope: {namespaces: [], excludeNamespaces: [], skipJobPods: false},
    progress: silent,
    clock: Date.now,
    signal: new AbortController().signal,
    stop: new AbortController().signal,
    resubmitAfterMs: 24 * 3600_000,
    wait: false,
    concurrency: 2,
    createClient: (target: Target): KubeApiClient => kube.get(target.id)!.client,
    submitter,
    ...more,
    store,
  }
}

test('each unique image is imported once across targets, and recorded submitted', async (t) => {
  const submitter = fakeSubmitter()
  const d = deps(t, twoClusters(), submitter)
  const result = await runSync(d)
  assert.equal(result.exitCode, 0)
  assert.deepEqual(submitter.imports.sort(), ['library/busybox:1.36', 'library/nginx:1.27', 'library/redis:7'])
  assert.deepEqual(result.images.map((image) => [image.image.split('@')[0], image.result]), [
    ['docker.io/library/busybox:1.36', 'submitted'],
    ['docker.io/library/nginx:1.27', 'submitted'],
    ['docker.io/library/redis:7', 'submitted'],
  ])
  const nginx = result.images.find((image) => image.image.startsWith('docker.io/library/nginx'))!
  assert.deepEqual(nginx.runsIn.clusters, ['dev', 'prod'])
  assert.equal(nginx.runsIn.containers, 3)
  for (const image of result.images) assert.equal((await d.store.getSubmission(image.key))?.state, 'submitted')
  assert.deepEqual(d.store.claimHolders(), [], 'no claim is left behind')
})

test('a second run within --resubmit-after imports nothing and reports the images unchanged', async (t) => {
  const kube = twoClusters()
  const first = deps(t, kube, fakeSubmitter())
  await runSync(first)
  const again = fakeSubmitter()
  const result = await runSync(deps(t, kube, again, {store: first.store}))
  assert.equal(result.exitCode, 0)
  assert.deepEqual(again.imports, [])
  assert.deepEqual(new Set(result.images.map((image) => image.result)), new Set(['unchanged']))
})

test('--wait records each outcome: a complete job is monitored with its projects, a failed one failed (exit 3)', async (t) => {
  const submitter = fakeSubmitter({job: (name) => (name === 'library/redis:7' ? {status: 'failed', error: 'the registry refused the pull'} : {status: 'complete', projects: [{id: `p-${name}`}]})})
  const d = deps(t, twoClusters(), submitter, {wait: true})
  const result = await runSync(d)
  assert.equal(result.exitCode, 3)
  const byName = new Map(result.images.map((image) => [image.snykTarget, image]))
  assert.equal(byName.get('library/redis:7')?.result, 'failed')
  assert.equal(byName.get('library/redis:7')?.reason, 'the registry refused the pull')
  assert.equal((await d.store.getSubmission(byName.get('library/redis:7')!.key))?.state, 'failed')
  assert.equal(byName.get('library/nginx:1.27')?.result, 'monitored')
  assert.deepEqual((await d.store.getSubmission(byName.get('library/nginx:1.27')!.key))?.projects.map((project) => project.id), ['p-library/nginx:1.27'])
})

test('a refused token stops the run: nothing more is sent and every claim is given back for the next run', async (t) => {
  const submitter = fakeSubmitter({importImage: async () => Promise.reject(new AuthError('Snyk refused the token (401)', {code: 'AUTH'}))})
  const d = deps(t, twoClusters(), submitter, {concurrency: 1})
  await assert.rejects(runSync(d), AuthError)
  assert.equal(submitter.imports.length, 1, 'stops after the first refusal')
  assert.deepEqual(d.store.claimHolders(), [])
  const next = fakeSubmitter()
  await runSync(deps(t, twoClusters(), next, {store: d.store}))
  assert.equal(next.imports.length, 3, 'the next run submits everything')
})

test('a graceful stop lets the import in flight finish and be recorded; the rest is left for the next run', async (t) => {
  const stop = new AbortController()
  const submitter = fakeSubmitter({
    importImage: async () => {
      stop.abort()
      await new Promise((resolve) => setTimeout(resolve, 20))
    },
  })
  const d = deps(t, twoClusters(), submitter, {concurrency: 1, stop: stop.signal})
  const result = await runSync(d)
  assert.equal(result.outcome, 'interrupted')
  assert.equal(submitter.imports.length, 1)
  const submitted = result.images.filter((image) => image.result === 'submitted')
  assert.equal(submitted.length, 1)
  assert.equal((await d.store.getSubmission(submitted[0]!.key))?.state, 'submitted')
  assert.equal(result.images.filter((image) => image.result === 'interrupted').length, 2)
  const next = fakeSubmitter()
  await runSync(deps(t, twoClusters(), next, {store: d.store}))
  assert.equal(next.imports.length, 2, 'the next run submits the two not sent')
})

test('a target that fails to list is reported with the others listed and submitted (exit 3)', async (t) => {
  const kube = twoClusters()
  const broken = fakeTarget('broken')
  const {KubeRequestError} = await import('../../../src/kube/kube-api-client.ts')
  kube.set(broken.id, fakeKube(broken, [], {failWith: () => new KubeRequestError('unreachable', 'connect ECONNREFUSED 127.0.0.1:1')}))
  const submitter = fakeSubmitter()
  const result = await runSync(deps(t, kube, submitter))
  assert.equal(result.exitCode, 3)
  assert.equal(result.targets.find((target) => target.name === 'broken')?.status, 'failed')
  assert.equal(submitter.imports.length, 3)
})
