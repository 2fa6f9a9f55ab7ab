// `watch`'s driver of the pipeline against fakes at its boundaries: a fake API client (list + a watch stream the
// test writes events into), a fake submitter, and the state store in memory. What a user of `watch` would
// notice: images running at start and images that start later are each imported once; a standby imports
// nothing until it leads; a failed import job is tried again after --retry-after; a stop keeps the queue.
import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {test} from 'node:test'
import type {Target} from '../../../src/kube/target.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import type {ImageSubmitter} from '../../../src/submit/image-submitter.ts'
import {WatchService, type WatchServiceOptions} from '../../../src/watch/watch-service.ts'
import {fakeKube, fakeTarget, runningPod, type FakeKube} from '../fakes/fake-kube.ts'
import {fakeSubmitter} from '../fakes/fake-submitter.ts'

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`
const quiet = {debug() {}, info() {}, warn() {}, error() {}}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

async function service(t: {after: (fn: () => void | Promise<void>) => void}, kube: FakeKube, submitter: ImageSubmitter, more: Partial<WatchServiceOptions> = {}) {
  const store = more.store ?? openStateStore(':memory:')
  const controller = new AbortController()
  const watch = await WatchService.create({
    targets: [kube.client.target as Target],
    scope: {namespaces: [], excludeNamespaces: [], skipJobPods: false},
    store,
    submitter,
    logger: quiet,
    signal: controller.signal,
    resubmitAfterMs: 24 * 3600_000,
    retryAfterMs: 15 * 60_000,
    leaseMs: 60_000,
    concurrency: 2,
    pendingGraceMs: 0,
    waitForJobs: false,
    sweepMs: 20,
    createClient: () => kube.client,
    ...more,
  })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await watch.stop(1_000, () => controller.abort())
  }
  t.after(async () => {
    await stop()
    if (!more.store) store.close()
  })
  return {watch, store, stop}
}

test('images running at start, then an image that starts later, are each imported once', async (t) => {
  const kube = fakeKube(fakeTarget('dev'), [runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}]), runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}])])
  const submitter = fakeSubmitter()
  const {watch} = await service(t, kube, submitter)
  watch.setLeading(true)
  await watch.start()
  await until(() => submitter.imports.length === 1, 'the running image imported')
  await until(() => watch.readiness().ok, 'the first list')
  const pod = runningPod('shop', 'api', [{image: 'redis:7', digest: digest(2)}])
  kube.emit('ADDED', pod)
  await until(() => submitter.imports.length === 2, 'the new image imported')
  // The same image starting again elsewhere, and an update of the pod: nothing more.
  kube.emit('ADDED', runningPod('shop', 'api', [{image: 'redis:7', digest: digest(2)}]))
  kube.emit('MODIFIED', {...pod, metadata: {...pod.metadata, resourceVersion: '999', labels: {tier: 'backend'}}})
  await sleep(200)
  assert.deepEqual(submitter.imports, ['library/nginx:1.27', 'library/redis:7'])
})

test('a standby records what runs and imports nothing; once it leads, it imports what is not done yet', async (t) => {
  const kube = fakeKube(fakeTarget('dev'), [runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}]), runningPod('shop', 'api', [{image: 'redis:7', digest: digest(2)}])])
  const submitter = fakeSubmitter()
  const {watch, store} = await service(t, kube, submitter)
  await watch.start()
  await until(() => watch.readiness().ok, 'the first list')
  await sleep(100)
  assert.deepEqual(submitter.imports, [])
  assert.equal([...watch.running.keys()].length, 2)
  // Another replica submitted nginx meanwhile: the store's claim says it is done.
  const other = await store.beginRun('watch')
  const nginx = [...watch.running.keys()].find((key) => key.includes('nginx'))!
  assert.equal((await store.claim(nginx, {runId: other, resubmitAfterMs: 0, leaseMs: 60_000})).claimed, true)
  await store.recordSubmitted(nginx, other, {integrationId: 'int-docker-hub', integrationType: 'docker-hub', targetName: 'library/nginx:1.27', jobUrl: 'https://api.snyk.io/job'})
  watch.setLeading(true)
  await until(() => submitter.imports.length === 1, 'the import of what is not done')
  await sleep(100)
  assert.deepEqual(submitter.imports, ['library/redis:7'])
})

test('a failed import job is recorded failed and tried again after --retry-after', async (t) => {
  const kube = fakeKube(fakeTarget('dev'), [runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}])])
  let answers = 0
  const submitter = fakeSubmitter({job: () => (answers++ === 0 ? {status: 'failed', error: 'the registry refused the pull'} : {status: 'complete', projects: [{id: 'p-1'}]})})
  const {watch, store} = await service(t, kube, submitter, {waitForJobs: true, retryAfterMs: 300})
  watch.setLeading(true)
  await watch.start()
  await until(() => submitter.imports.length === 1, 'the first import')
  const [key] = [...watch.running.keys()]
  await until(async () => (await store.getSubmission(key!))?.state === 'failed', 'the failure recorded')
  await until(() => submitter.imports.length === 2, 'the retry')
  await until(async () => (await store.getSubmission(key!))?.state === 'monitored', 'the retry recorded monitored')
})

test('a stop keeps what was not sent for the next start, which imports it', async (t) => {
  const kube = fakeKube(fakeTarget('dev'), [runningPod('shop', 'web', [{image: 'nginx:1.27', digest: digest(1)}]), runningPod('shop', 'api', [{image: 'redis:7', digest: digest(2)}]), runningPod('shop', 'db', [{image: 'postgres:17', digest: digest(3)}])])
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  const submitter = fakeSubmitter({importImage: () => held})
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const first = await service(t, kube, submitter, {store, concurrency: 1})
  first.watch.setLeading(true)
  await first.watch.start()
  await until(() => submitter.imports.length === 1, 'the first import in flight')
  const stopping = first.stop()
  release()
  await stopping
  assert.equal(submitter.imports.length, 1, 'nothing new is sent during the stop')
  assert.equal((await store.pendingWork()).length, 2, 'the two not sent are kept')
  const next = fakeSubmitter()
  const second = await service(t, fakeKube(fakeTarget('dev'), []), next, {store})
  second.watch.setLeading(true)
  await second.watch.start()
  await until(() => next.imports.length === 2, 'the kept images imported by the next start')
})
