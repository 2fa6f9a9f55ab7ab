// The state store's contract, one suite for both backends (SQLite file, real PostgreSQL): what the pipeline, watch
// and status rely on, through the StateStore seam only. Times come from a clock given to the store, except where a
// test is about real time (leases between processes).
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'
import type {ClaimResult, ImageSummary, ListImagesFilter} from '../../../src/state/records.ts'
import type {StateStore} from '../../../src/state/state-store.ts'
import {submissionTransitions, unfinishedStates, type StateOrNone} from '../../../src/state/submission-states.ts'
import {digestOf, manyObservations, observation, startWorker, type Worker} from '../../unit/state/fixtures/state-fixtures.ts'
import {allBackends, freshStore, type StoreBackend} from './store-backends.ts'

const dev = '/home/me/.kube/config#dev'
const prod = '/home/me/.kube/config#prod'
const hour = 3_600_000
const day = 24 * hour
const lease = 10 * 60_000
const submitted = {integrationId: 'int-1', integrationType: 'docker-hub', targetName: 'library/nginx:1.25', jobUrl: 'https://api.snyk.io/v1/org/o/integrations/int-1/import/job-1'}

const claimer = '../../../integration/state/fixtures/store-claimer.ts'

/** Keys written to a file for the claimer processes. */
function keysFile(keys: readonly string[], t: {after: (fn: () => void) => void}): string {
  const file = path.join(tmpdir(), `snyk-watch-keys-${process.pid}-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(keys))
  t.after(() => {
    try {
      writeFileSync(file, '')
    } catch {
      // gone already
    }
  })
  return file
}

function killOnExit(t: {after: (fn: () => void) => void}, workers: Worker[]): void {
  t.after(() => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  })
}

const backends = await allBackends()
after(async () => {
  for (const backend of backends) await backend.stop()
})

async function summaries(store: StateStore, filter: ListImagesFilter = {}, chunkSize?: number): Promise<ImageSummary[]> {
  const all: ImageSummary[] = []
  await store.visitImageSummaries(filter, (chunk) => all.push(...chunk), chunkSize)
  return all
}

function reasonOf(result: ClaimResult): string | undefined {
  return result.claimed ? undefined : result.reason
}

/** A store with a hand-driven clock and one image seen in `dev`. */
async function withClock(backend: StoreBackend, t: Parameters<typeof freshStore>[1]) {
  let now = 1_700_000_000_000
  const {store, at} = await freshStore(backend, t, {clock: () => now})
  const observer = await store.beginRun('sync')
  const [key] = (await store.recordObservations(observer, dev, [observation({target: dev})])).imageKeys
  assert.ok(key !== undefined)
  return {store, at, key, observer, advance: (ms: number) => (now += ms), now: () => now}
}

async function submit(store: StateStore, key: string, runId: string): Promise<void> {
  assert.equal(await store.markSubmitting(key, runId), true)
  await store.recordSubmitted(key, runId, submitted)
}

for (const backend of backends) {
  describe(`state store contract: ${backend.name}`, () => {
    test('observations: images deduplicated by digest, placements replaced by a complete listing, merged by an event, pruned and forgotten', async (t) => {
      const {store, advance} = await withClock(backend, t)
      const run = await store.beginRun('sync')
      const first = await store.recordObservations(run, dev, [
        observation({target: dev, pod: 'web-1'}),
        observation({target: dev, pod: 'web-2'}),
        ...manyObservations(3, {target: dev}),
      ])
      assert.equal(first.imageKeys.length, 4, 'nginx (seen before) and three new images')
      assert.equal(first.newImageKeys.length, 3)
      assert.deepEqual(first.newImageKeys, first.imageKeys.slice(1))
      let images = await summaries(store)
      assert.equal(images.length, 4)
      assert.equal(images[0]?.placements.length, 2, 'the first listing replaced the setup placement')

      await store.recordObservations(run, dev, [observation({target: dev, pod: 'web-3', namespace: 'shop'})], {mode: 'merge'})
      images = await summaries(store)
      assert.deepEqual(images[0]?.placements.map((p) => p.namespace), ['default', 'default', 'shop'])

      await store.recordObservations(run, prod, [observation({target: prod, cluster: 'prod'})])
      assert.equal(await store.forgetPod(dev, 'shop', 'web-3'), 1)
      advance(1000)
      const listStartedAt = await store.now()
      await store.recordObservations(run, dev, [observation({target: dev, pod: 'web-1'})], {mode: 'merge'})
      assert.equal(await store.prunePlacements(dev, listStartedAt), 4, 'everything in dev not seen since the relist started')
      images = await summaries(store)
      assert.deepEqual(images.map((image) => image.placements.map((p) => `${p.target}`)), [[dev, prod]], 'only nginx still runs')
      assert.equal((await summaries(store, {includeNotRunning: true})).length, 4, 'the others stay as history')
    })

    test('retention: placements of any target not seen since the cutoff are forgotten; their images stay as history', async (t) => {
      const {store, advance} = await withClock(backend, t)
      const run = await store.beginRun('sync')
      await store.recordObservations(run, prod, manyObservations(3, {target: prod, cluster: 'prod'}))
      advance(2 * day)
      await store.recordObservations(run, prod, [observation({target: prod, cluster: 'prod', pod: 'web-0'})], {mode: 'merge'})
      assert.equal(await store.forgetPlacementsSeenBefore((await store.now()) - day), 4, "dev's nginx (not listed since) and prod's three pods seen two days ago")
      const running = await summaries(store)
      assert.deepEqual(running.map((image) => [image.image.repository, image.placements.map((p) => p.target)]), [['library/nginx', [prod]]])
      assert.equal((await summaries(store, {includeNotRunning: true})).length, 4, 'the images stay')
    })

    test('drift: a tag seen at a new digest is reported once, with the digest it had before', async (t) => {
      const {store} = await withClock(backend, t)
      const run = await store.beginRun('sync')
      const image = {registry: 'docker.io', repository: 'library/nginx', tag: '1.25'}
      const moved = await store.recordObservations(run, dev, [observation({target: dev, image, runningDigest: digestOf('new')})])
      assert.deepEqual(moved.drift, [{tag: 'docker.io/library/nginx:1.25', previousDigest: digestOf('library/nginx:1.25'), digest: digestOf('new'), imageKey: moved.imageKeys[0]}])
      assert.deepEqual((await store.recordObservations(run, dev, [observation({target: dev, image, runningDigest: digestOf('new')})])).drift, [], 'seen again: no drift')
    })

    test('claims: one holder at a time, no resubmission before resubmit-after, a lapsed lease taken over', async (t) => {
      const {store, key, advance, now} = await withClock(backend, t)
      const a = await store.beginRun('sync')
      const b = await store.beginRun('watch')
      assert.deepEqual(await store.claim(key, {runId: a, resubmitAfterMs: day, leaseMs: lease}), {claimed: true})
      assert.deepEqual(await store.claim(key, {runId: b, resubmitAfterMs: day, leaseMs: lease}), {claimed: false, reason: 'in-flight', heldBy: a, expiresAt: now() + lease})
      assert.deepEqual(await store.claimHolders(), [{runId: a, claims: 1, expiresAt: now() + lease}])
      assert.deepEqual(await store.claimedKeys(a), [key])

      advance(lease + 1)
      assert.deepEqual(await store.claim(key, {runId: b, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, previousState: 'queued', takenOverFrom: a})
      assert.equal(await store.markSubmitting(key, a), false, 'the run that lost its claim may not send')
      await submit(store, key, b)
      const record = await store.getSubmission(key)
      assert.equal(record?.state, 'submitted')
      assert.equal(record?.attempts, 1)
      assert.equal(record?.claim, undefined, 'recording the outcome released the claim')
      assert.equal(record?.jobUrl, submitted.jobUrl)
      const submittedAt = now()

      advance(hour)
      assert.deepEqual(await store.claim(key, {runId: a, resubmitAfterMs: day, leaseMs: lease}), {claimed: false, reason: 'recent', submittedAt, resubmitAt: submittedAt + day})
      advance(day)
      assert.deepEqual(await store.claim(key, {runId: a, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, previousState: 'submitted'})
    })

    test('claimMany: each key decided as claim decides it, in one call; unknown keys refused', async (t) => {
      const {store, key, advance, now} = await withClock(backend, t)
      const a = await store.beginRun('sync')
      const b = await store.beginRun('sync')
      const [held, fresh] = (await store.recordObservations(a, dev, manyObservations(2, {target: dev}), {mode: 'merge'})).imageKeys
      assert.ok(held !== undefined && fresh !== undefined)
      await store.claim(key, {runId: a, resubmitAfterMs: day, leaseMs: lease})
      await submit(store, key, a)
      await store.claim(held, {runId: a, resubmitAfterMs: day, leaseMs: lease})
      advance(1_000)
      const claims = await store.claimMany([key, held, fresh, fresh], {runId: b, resubmitAfterMs: day, leaseMs: lease})
      assert.deepEqual(Object.fromEntries(claims), {
        [key]: {claimed: false, reason: 'recent', submittedAt: now() - 1_000, resubmitAt: now() - 1_000 + day},
        [held]: {claimed: false, reason: 'in-flight', heldBy: a, expiresAt: now() - 1_000 + lease},
        [fresh]: {claimed: true},
      })
      assert.deepEqual(await store.claimedKeys(b), [fresh], 'the claim granted is recorded')
      assert.deepEqual(Object.fromEntries(await store.claimMany([fresh], {runId: a, resubmitAfterMs: day, leaseMs: lease})), {[fresh]: {claimed: false, reason: 'in-flight', heldBy: b, expiresAt: now() + lease}})
      await assert.rejects(async () => store.claimMany([fresh, 'docker.io/library/never-seen:1'], {runId: a, resubmitAfterMs: day, leaseMs: lease}), /unknown image/)
      assert.equal((await store.claimMany([], {runId: a, resubmitAfterMs: day, leaseMs: lease})).size, 0)
    })

    test('outcomes: failed and skipped are retried by another run at once and by the same run after retry-after; secrets never stored', async (t) => {
      const {store, key, advance} = await withClock(backend, t)
      const watch = await store.beginRun('watch')
      assert.equal((await store.claim(key, {runId: watch, resubmitAfterMs: day, leaseMs: lease})).claimed, true)
      await store.recordFailed(key, watch, {error: 'HTTP 500 with Authorization: token 0123456789abcdef0123456789abcdef', retryable: true})
      const failed = await store.getSubmission(key)
      assert.equal(failed?.state, 'failed')
      assert.equal(failed?.error?.retryable, true)
      assert.doesNotMatch(failed?.error?.message ?? '', /0123456789abcdef0123456789abcdef/)
      assert.equal(reasonOf(await store.claim(key, {runId: watch, resubmitAfterMs: day, leaseMs: lease, retryAfterMs: hour})), 'failed-recently')
      advance(hour)
      assert.equal((await store.claim(key, {runId: watch, resubmitAfterMs: day, leaseMs: lease, retryAfterMs: hour})).claimed, true)
      await store.recordSkipped(key, watch, {reason: 'no integration for registry docker.io', fix: 'add one'})
      assert.deepEqual((await store.getSubmission(key))?.skip, {reason: 'no integration for registry docker.io', fix: 'add one'})
      const other = await store.beginRun('sync')
      assert.deepEqual(await store.claim(key, {runId: other, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, previousState: 'skipped'})
    })

    test('monitored: projects replace those recorded before; issue counts are summed per image in reports', async (t) => {
      const {store, key} = await withClock(backend, t)
      const run = await store.beginRun('sync')
      await store.claim(key, {runId: run, resubmitAfterMs: day, leaseMs: lease})
      await submit(store, key, run)
      await store.recordMonitored(key, {projects: [{id: 'p-old'}]})
      await store.recordMonitored(key, {projects: [{id: 'p-2', name: 'nginx (os)', url: 'https://app.snyk.io/p-2'}, {id: 'p-1'}]})
      assert.deepEqual((await store.getSubmission(key))?.projects, [{id: 'p-1'}, {id: 'p-2', name: 'nginx (os)', url: 'https://app.snyk.io/p-2'}])
      const many = await store.getSubmissions([key, 'docker.io/library/never-seen:1', key])
      assert.deepEqual([...many.keys()], [key], 'one entry per key that has a record')
      assert.deepEqual(many.get(key), await store.getSubmission(key), 'the same record as getSubmission, projects included')
      assert.equal((await store.getSubmissions([])).size, 0)
      await store.recordIssueCounts([
        {projectId: 'p-1', critical: 1, high: 2, medium: 3, low: 4, updatedAt: 1_000},
        {projectId: 'p-2', critical: 10, high: 20, medium: 30, low: 40, updatedAt: 2_000},
        {projectId: 'unrelated', critical: 9, high: 9, medium: 9, low: 9},
      ])
      const [image] = await summaries(store)
      assert.deepEqual(image?.issues, {critical: 11, high: 22, medium: 33, low: 44, updatedAt: 2_000})
      assert.equal(image?.submission?.state, 'monitored')
    })

    test('runs: finishing a run gives back its claims; releaseAll and release put unfinished images back in the queue', async (t) => {
      const {store} = await withClock(backend, t)
      const run = await store.beginRun('sync')
      const keys = (await store.recordObservations(run, dev, manyObservations(4, {target: dev}))).imageKeys
      for (const key of keys) assert.equal((await store.claim(key, {runId: run, resubmitAfterMs: day, leaseMs: lease})).claimed, true)
      assert.equal(await store.markSubmitting(keys[0]!, run), true)
      assert.equal(await store.release(keys[0]!, run), true)
      assert.equal(await store.extendClaims(run, lease), 3)
      await store.finishRun(run, 'partial', {found: 4})
      assert.deepEqual(await store.claimHolders(), [])
      const finished = await store.getRun(run)
      assert.equal(finished?.outcome, 'partial')
      assert.deepEqual(finished?.counts, {found: 4})
      const pending = await store.pendingWork()
      assert.deepEqual(pending.map((work) => [work.state, work.claim]).sort(), keys.map(() => ['queued', undefined]))
      assert.equal(pending.find((work) => work.key === keys[0])?.attempts, 1)
      const second = await store.beginRun('sync')
      for (const key of keys) assert.equal((await store.claim(key, {runId: second, resubmitAfterMs: day, leaseMs: lease})).claimed, true)
      assert.equal(await store.releaseAll(second), 4)
    })

    test("persistQueue keeps watch's queue, but not over another live claim or a finished submission", async (t) => {
      const {store, advance} = await withClock(backend, t)
      const watch = await store.beginRun('watch')
      const other = await store.beginRun('sync')
      const keys = (await store.recordObservations(watch, dev, manyObservations(4, {target: dev}))).imageKeys
      const [fresh, heldByOther, done, mine] = keys as [string, string, string, string]
      await store.claim(heldByOther, {runId: other, resubmitAfterMs: day, leaseMs: lease})
      await store.claim(done, {runId: other, resubmitAfterMs: day, leaseMs: lease})
      await submit(store, done, other)
      await store.claim(mine, {runId: watch, resubmitAfterMs: day, leaseMs: lease})
      assert.equal(await store.persistQueue([fresh, heldByOther, done, mine, fresh], watch), 2)
      assert.deepEqual((await store.pendingWork()).map((work) => [work.key, work.claim?.runId]).sort(), [[fresh, undefined], [heldByOther, other], [mine, undefined]].sort())
      advance(lease + 1)
      assert.equal(await store.persistQueue([heldByOther], watch), 1, 'an expired claim is kept as queued')
      const expired = (await store.pendingWork()).find((work) => work.key === heldByOther)
      assert.equal(expired?.claim, undefined)
    })

    test('reports: filters by target, cluster, namespace and state; chunks in the order first seen; one snapshot', async (t) => {
      const {store, key} = await withClock(backend, t)
      const run = await store.beginRun('sync')
      await store.recordObservations(run, prod, manyObservations(25, {target: prod, cluster: 'prod-eu'}))
      await store.claim(key, {runId: run, resubmitAfterMs: day, leaseMs: lease})
      const chunks: number[] = []
      await store.visitImageSummaries({}, (chunk) => chunks.push(chunk.length), 10)
      assert.deepEqual(chunks, [10, 10, 6])
      assert.equal((await summaries(store, {clusters: ['prod-eu']})).length, 25)
      assert.equal((await summaries(store, {targets: [dev]})).length, 1)
      assert.equal((await summaries(store, {namespaces: ['ns-3', 'ns-4']})).length, 4, 'images 3, 4, 23 and 24')
      assert.deepEqual((await summaries(store, {states: ['queued']})).map((image) => image.key), [key])
      assert.equal((await summaries(store, {states: ['none']})).length, 25)
      assert.equal((await summaries(store, {states: ['none'], clusters: ['dev']})).length, 0)
      const [first] = await summaries(store, {targets: [dev]})
      assert.deepEqual(first?.placements, [{target: dev, cluster: 'dev', namespace: 'default', workload: {kind: 'Deployment', name: 'web'}}])
      assert.deepEqual(first?.image, {registry: 'docker.io', repository: 'library/nginx', tag: '1.25', digest: digestOf('library/nginx:1.25')}, 'at the digest it runs')
    })

    test('dataVersion changes when another connection commits, and not otherwise', async (t) => {
      const {store, at} = await freshStore(backend, t)
      const reader = await at.open()
      const before = await reader.dataVersion()
      assert.equal(await reader.dataVersion(), before, 'nothing happened')
      const run = await store.beginRun('sync')
      await store.recordObservations(run, dev, [observation({target: dev})])
      let after = await reader.dataVersion()
      for (let i = 0; after === before && i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        after = await reader.dataVersion()
      }
      assert.notEqual(after, before)
    })

    for (const [how, modes] of [['one by one', ['race', 'race']], ['in batches (claimMany), in opposite orders', ['batches', 'reverse']]] as const) {
      test(`two processes racing to claim the same 200 images ${how} claim each exactly once`, async (t) => {
        const {store, at} = await freshStore(backend, t)
        const run = await store.beginRun('sync')
        const keys = (await store.recordObservations(run, dev, manyObservations(200, {target: dev}))).imageKeys
        // Half were left queued by an earlier watch (a claim updates a row), half are new (a claim inserts one).
        await store.persistQueue(keys.filter((_, i) => i % 2 === 0), run)
        const file = keysFile(keys, t)
        const workers = modes.map((mode) => startWorker(claimer, [at.location, file, mode]))
        killOnExit(t, workers)
        const runIds = await Promise.all(workers.map(async (worker) => (await worker.waitForLine(/^ready /)).split(' ')[1]))
        const start = Date.now() + 500
        for (const worker of workers) worker.child.stdin.end(`go ${start}\n`)
        const results = await Promise.all(workers.map((worker) => worker.exited))
        for (const result of results) assert.equal(result.code, 0, result.stderr)
        const [a = [], b = []] = results.map(({lines}) => JSON.parse(lines.find((line) => line.startsWith('won '))?.slice(4) ?? '[]') as string[])
        t.diagnostic(`${backend.name}: process a claimed ${a.length}, process b ${b.length}`)
        assert.deepEqual([...a, ...b].sort(), [...keys].sort(), 'every image claimed')
        assert.equal(new Set([...a, ...b]).size, keys.length, 'no image claimed twice')
        const holders = new Map((await store.pendingWork()).map((work) => [work.key, work.claim?.runId]))
        for (const key of a) assert.equal(holders.get(key), runIds[0])
        for (const key of b) assert.equal(holders.get(key), runIds[1])
      })
    }

    test("a holder killed with SIGKILL: its claims hold until their lease ends, then another run takes them over", async (t) => {
      const {store, at} = await freshStore(backend, t)
      const run = await store.beginRun('sync')
      const keys = (await store.recordObservations(run, dev, manyObservations(20, {target: dev}))).imageKeys
      const leaseMs = 3_000
      const worker = startWorker(claimer, [at.location, keysFile(keys, t), 'hold', String(leaseMs)])
      killOnExit(t, [worker])
      const killedRun = (await worker.waitForLine(/^ready /)).split(' ')[1]
      worker.child.stdin.write(`go ${Date.now()}\n`)
      assert.equal((JSON.parse((await worker.waitForLine(/^won /)).slice(4)) as string[]).length, 20)
      worker.child.kill('SIGKILL')
      const killedAt = Date.now()
      await worker.exited
      const other = await store.beginRun('sync')
      const options = {runId: other, resubmitAfterMs: day, leaseMs: lease}
      const first = await store.claim(keys[0]!, options)
      if (Date.now() - killedAt < leaseMs - 500) assert.equal(reasonOf(first), 'in-flight', 'the lease still holds')
      let taken = first
      while (!taken.claimed) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        taken = await store.claim(keys[0]!, options)
      }
      assert.ok(Date.now() - killedAt >= leaseMs - 1_000, `taken over ${Date.now() - killedAt} ms after the kill (lease ${leaseMs} ms)`)
      assert.deepEqual(taken, {claimed: true, previousState: 'queued', takenOverFrom: killedRun})
      // The others were claimed a few milliseconds later: their leases end as many milliseconds later.
      for (const key of keys.slice(1)) {
        let claim = await store.claim(key, options)
        for (let tries = 0; !claim.claimed && tries < 20; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 100))
          claim = await store.claim(key, options)
        }
        assert.equal(claim.claimed && claim.takenOverFrom, killedRun, key)
      }
      assert.deepEqual((await store.claimHolders()).map((h) => [h.runId, h.claims]), [[other, 20]])
    })

    const states: readonly StateOrNone[] = ['none', 'queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped']
    /** A store holding one image in `state`, reached through the store's own operations by `run`. */
    async function storeIn(t: Parameters<typeof freshStore>[1], state: StateOrNone): Promise<{store: StateStore; key: string; run: string}> {
      let now = 1_700_000_000_000
      const {store} = await freshStore(backend, t, {clock: () => (now += 1)})
      const run = await store.beginRun('sync')
      const [key] = (await store.recordObservations(run, dev, [observation({target: dev})])).imageKeys
      assert.ok(key !== undefined)
      if (state !== 'none') assert.deepEqual(await store.claim(key, {runId: run, resubmitAfterMs: 0, leaseMs: lease}), {claimed: true})
      if (state === 'submitting' || state === 'submitted' || state === 'monitored') assert.equal(await store.markSubmitting(key, run), true)
      if (state === 'submitted' || state === 'monitored') await store.recordSubmitted(key, run, submitted)
      if (state === 'monitored') await store.recordMonitored(key, {projects: [{id: 'p-1'}]})
      if (state === 'failed') await store.recordFailed(key, run, {error: 'HTTP 500', retryable: true})
      if (state === 'skipped') await store.recordSkipped(key, run, {reason: 'no integration', fix: 'add one'})
      assert.equal((await store.getSubmission(key))?.state ?? 'none', state, `set up in ${state}`)
      return {store, key, run}
    }
    const operations: Record<keyof typeof submissionTransitions, (store: StateStore, key: string, run: string) => Promise<unknown>> = {
      claim: async (store, key) => store.claim(key, {runId: await store.beginRun('watch'), resubmitAfterMs: 0, leaseMs: lease, now: (await store.now()) + lease + 1}),
      markSubmitting: async (store, key, run) => store.markSubmitting(key, run),
      recordSubmitted: async (store, key, run) => store.recordSubmitted(key, run, submitted),
      recordMonitored: async (store, key) => store.recordMonitored(key, {projects: [{id: 'p-2'}]}),
      recordFailed: async (store, key, run) => store.recordFailed(key, run, {error: 'HTTP 503', retryable: true}),
      recordSkipped: async (store, key, run) => store.recordSkipped(key, run, {reason: 'unsupported registry', fix: 'none'}),
      persistQueue: async (store, key, run) => store.persistQueue([key], run),
      release: async (store, key, run) => store.release(key, run),
    }
    test('the submission state table: every operation from every state ends where src/state/submission-states.ts says', async (t) => {
      for (const [name, transition] of Object.entries(submissionTransitions) as Array<[keyof typeof submissionTransitions, (typeof submissionTransitions)[keyof typeof submissionTransitions]]>) {
        for (const from of states) {
          const {store, key, run} = await storeIn(t, from)
          const allowed = (transition.from as readonly StateOrNone[]).includes(from)
          try {
            await operations[name](store, key, run)
          } catch (error) {
            assert.ok(!allowed, `${name} from ${from} threw: ${String(error)}`)
          }
          assert.equal((await store.getSubmission(key))?.state ?? 'none', allowed ? transition.to : from, `${name} from ${from}`)
          assert.equal((await store.pendingWork()).length, (unfinishedStates as readonly StateOrNone[]).includes(allowed ? transition.to : from) ? 1 : 0, `pending after ${name} from ${from}`)
          await store.close()
        }
      }
    })
  })
}
