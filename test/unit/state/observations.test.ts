// Recording what pod sources found: images upserted, each target's placements replaced by its latest listing,
// and drift reported when a tag moves to a new digest.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {imageKey} from '../../../src/state/image-key.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import {digestOf, observation} from './fixtures/state-fixtures.ts'
import {listImages} from '../../helpers/sqlite-store-reads.ts'

const dev = '/home/me/.kube/config#dev'
const prod = '/home/me/.kube/config#prod'

function memoryStore(t: {after: (fn: () => void) => void}, start = 1_000) {
  let now = start
  const store = openStateStore(':memory:', {clock: () => now})
  t.after(() => store.close())
  return {store, advance: (ms: number) => (now += ms)}
}

test('the image key includes the running digest, so a tag at a new digest is a new image', () => {
  const nginx = {registry: 'docker.io', repository: 'library/nginx', tag: '1.25'}
  assert.equal(imageKey(nginx, 'sha256:aa'), 'docker.io/library/nginx@sha256:aa')
  assert.equal(imageKey(nginx), 'docker.io/library/nginx:1.25')
  assert.equal(imageKey({...nginx, digest: 'sha256:bb'}), 'docker.io/library/nginx@sha256:bb')
  assert.equal(imageKey({registry: 'localhost:5000', repository: 'app', digest: 'sha256:cc'}), 'localhost:5000/app@sha256:cc')
})

test('observations upsert images once and record every placement', (t) => {
  const {store, advance} = memoryStore(t)
  const runId = store.beginRun('sync')
  const web1 = observation({target: dev, pod: 'web-1'})
  const web2 = observation({target: dev, pod: 'web-2'})
  const init = observation({target: dev, pod: 'web-1', container: 'migrate', containerKind: 'init', image: {registry: 'ghcr.io', repository: 'acme/migrate', tag: '3'}})
  const first = store.recordObservations(runId, dev, [web1, web2, init])
  const nginxKey = imageKey(web1.image, web1.runningDigest)
  const migrateKey = imageKey(init.image, init.runningDigest)
  assert.deepEqual(first.imageKeys, [nginxKey, migrateKey])
  assert.deepEqual(first.newImageKeys, [nginxKey, migrateKey])
  assert.deepEqual(first.drift, [])

  advance(60_000)
  const second = store.recordObservations(runId, dev, [web1, web2, init])
  assert.deepEqual(second.newImageKeys, [], 'seen before: not new')

  const images = listImages(store)
  assert.deepEqual(
    images.map((image) => [image.key, image.firstSeen, image.lastSeen, image.placements.map((p) => `${p.pod}/${p.containerKind}/${p.container}`)]),
    [
      [nginxKey, 1_000, 61_000, ['web-1/container/web', 'web-2/container/web']],
      [migrateKey, 1_000, 61_000, ['web-1/init/migrate']],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  )
  const placement = images.find((image) => image.key === nginxKey)?.placements[0]
  assert.deepEqual(placement, {
    target: dev,
    cluster: 'dev',
    namespace: 'default',
    pod: 'web-1',
    container: 'web',
    containerKind: 'container',
    workload: {kind: 'Deployment', name: 'web'},
    reference: 'docker.io/library/nginx:1.25',
    lastSeen: 61_000,
    runId,
  })
})

test("a target's new listing replaces its placements; other targets keep theirs", (t) => {
  const {store} = memoryStore(t)
  const runId = store.beginRun('sync')
  const redis = {registry: 'docker.io', repository: 'library/redis', tag: '7'}
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'web-1'}), observation({target: dev, pod: 'cache-1', image: redis})])
  store.recordObservations(runId, prod, [observation({target: prod, cluster: 'prod', pod: 'web-9'})])

  // The next sync of dev finds only the web pod: redis no longer runs there.
  const next = store.beginRun('sync')
  store.recordObservations(next, dev, [observation({target: dev, pod: 'web-2'})])
  const running = listImages(store)
  assert.deepEqual(
    running.map((image) => [image.image.repository, image.placements.map((p) => `${p.cluster}/${p.pod}`)]),
    [['library/nginx', ['dev/web-2', 'prod/web-9']]],
  )
  assert.equal(listImages(store, {includeNotRunning: true}).length, 2, 'redis is still known, just not running')

  // A target that now runs nothing.
  store.recordObservations(next, prod, [])
  assert.deepEqual(listImages(store)[0]?.placements.map((p) => p.pod), ['web-2'])
})

test('watch events merge placements and forget deleted pods', (t) => {
  const {store} = memoryStore(t)
  const runId = store.beginRun('watch')
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'web-1'})])
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'web-2'})], {mode: 'merge'})
  assert.deepEqual(listImages(store)[0]?.placements.map((p) => p.pod), ['web-1', 'web-2'])
  assert.equal(store.forgetPod(dev, 'default', 'web-1'), 1)
  assert.deepEqual(listImages(store)[0]?.placements.map((p) => p.pod), ['web-2'])
})

test('a relist recorded page by page with merge, then pruned, leaves exactly the listing (other targets untouched)', (t) => {
  const {store, advance} = memoryStore(t)
  const runId = store.beginRun('watch')
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'gone'}), observation({target: dev, pod: 'stays'})])
  store.recordObservations(runId, prod, [observation({target: prod, pod: 'elsewhere'})])
  advance(1_000)
  const startedAt = store.now()
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'stays'})], {mode: 'merge'})
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'new'})], {mode: 'merge'})
  assert.equal(store.prunePlacements(dev, startedAt), 1)
  assert.deepEqual(listImages(store)[0]?.placements.map((p) => p.pod).sort(), ['elsewhere', 'new', 'stays'])
})

test('a container whose image changed in place points at the new image', (t) => {
  const {store} = memoryStore(t)
  const runId = store.beginRun('watch')
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'web-1'})])
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'web-1', image: {registry: 'docker.io', repository: 'library/nginx', tag: '1.27'}})], {mode: 'merge'})
  assert.deepEqual(listImages(store).map((image) => image.image.tag), ['1.27'])
})

test('a tag that moves to a new digest is reported as drift, once, and not when it moves back', (t) => {
  const {store, advance} = memoryStore(t)
  const runId = store.beginRun('sync')
  const old = digestOf('old')
  const moved = digestOf('new')
  assert.deepEqual(store.recordObservations(runId, dev, [observation({target: dev, runningDigest: old})]).drift, [])
  advance(1_000)
  const {drift, newImageKeys} = store.recordObservations(runId, dev, [observation({target: dev, runningDigest: moved})])
  assert.deepEqual(drift, [{tag: 'docker.io/library/nginx:1.25', previousDigest: old, digest: moved, imageKey: `docker.io/library/nginx@${moved}`}])
  assert.deepEqual(newImageKeys, [`docker.io/library/nginx@${moved}`], 'the new digest is a new image to submit')

  advance(1_000)
  assert.deepEqual(store.recordObservations(runId, dev, [observation({target: dev, runningDigest: moved})]).drift, [], 'reported once')
  // Two clusters that pulled the tag at different times run both digests: no drift flapping between them.
  advance(1_000)
  assert.deepEqual(store.recordObservations(runId, prod, [observation({target: prod, cluster: 'prod', runningDigest: old})]).drift, [])
})

test('an image without a known digest or tag records no drift', (t) => {
  const {store} = memoryStore(t)
  const runId = store.beginRun('sync')
  const pulling = observation({target: dev, runningDigest: null})
  const pinned = observation({target: dev, pod: 'p', image: {registry: 'quay.io', repository: 'org/tool', digest: digestOf('tool')}, runningDigest: null})
  const result = store.recordObservations(runId, dev, [pulling, pinned])
  assert.deepEqual(result.imageKeys, ['docker.io/library/nginx:1.25', `quay.io/org/tool@${digestOf('tool')}`])
  assert.deepEqual(result.drift, [])
})

test('observations of another target are a bug, and nothing is written', (t) => {
  const {store} = memoryStore(t)
  const runId = store.beginRun('sync')
  assert.throws(() => store.recordObservations(runId, dev, [observation({target: prod})]), {name: 'BugError'})
  assert.deepEqual(listImages(store, {includeNotRunning: true}), [])
})

test('a batch that fails half-way writes nothing, and the previous listing stays', (t) => {
  const {store} = memoryStore(t)
  const runId = store.beginRun('sync')
  store.recordObservations(runId, dev, [observation({target: dev, pod: 'web-1'})])
  const broken = {...observation({target: dev, pod: 'odd'}), containerKind: 'sidecar'} as unknown as ReturnType<typeof observation>
  const redis = observation({target: dev, pod: 'cache-1', image: {registry: 'docker.io', repository: 'library/redis', tag: '7'}})
  assert.throws(() => store.recordObservations(runId, dev, [redis, broken]), /CHECK constraint failed/)
  const images = listImages(store, {includeNotRunning: true})
  assert.deepEqual(
    images.map((image) => [image.image.repository, image.placements.map((p) => p.pod)]),
    [['library/nginx', ['web-1']]],
  )
})
