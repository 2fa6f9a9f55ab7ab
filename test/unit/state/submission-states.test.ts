// The submission state machine's table (src/state/submission-states.ts) against a real store: every operation
// from every state ends where the table says, and changes nothing from a state the table does not list.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {openStateStore} from '../../../src/state/state-store.ts'
import type {SqliteStateStore} from '../../../src/state/sqlite/sqlite-state-store.ts'
import {submissionTransitions, unfinishedStates, type StateOrNone} from '../../../src/state/submission-states.ts'
import {observation} from './fixtures/state-fixtures.ts'

const dev = '/home/me/.kube/config#dev'
const lease = 10 * 60_000
const states: readonly StateOrNone[] = ['none', 'queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped']
const submitted = {integrationId: 'int-1', integrationType: 'docker-hub', targetName: 'library/nginx:1.27', jobUrl: 'https://api.snyk.io/v1/org/o/integrations/int-1/import/job-1'}

/** A store holding one image in `state`, reached through the store's own operations by `run`. */
function storeIn(state: StateOrNone): {store: SqliteStateStore; key: string; run: string} {
  let now = 1_700_000_000_000
  const store = openStateStore(':memory:', {clock: () => (now += 1)})
  const run = store.beginRun('sync')
  const [key] = store.recordObservations(run, dev, [observation({target: dev})]).imageKeys
  assert.ok(key !== undefined)
  if (state !== 'none') assert.deepEqual(store.claim(key, {runId: run, resubmitAfterMs: 0, leaseMs: lease}), {claimed: true})
  if (state === 'submitting' || state === 'submitted' || state === 'monitored') assert.equal(store.markSubmitting(key, run), true)
  if (state === 'submitted' || state === 'monitored') store.recordSubmitted(key, run, submitted)
  if (state === 'monitored') store.recordMonitored(key, {projects: [{id: 'p-1'}]})
  if (state === 'failed') store.recordFailed(key, run, {error: 'HTTP 500', retryable: true})
  if (state === 'skipped') store.recordSkipped(key, run, {reason: 'no integration', fix: 'add one'})
  assert.equal(store.getSubmission(key)?.state ?? 'none', state, `set up in ${state}`)
  return {store, key, run}
}

/** Each operation of the table, as the run that set the image up does it; `claim` as another run once that run's lease ran out (a takeover). */
const operations: Record<keyof typeof submissionTransitions, (store: SqliteStateStore, key: string, run: string) => unknown> = {
  claim: (store, key) => store.claim(key, {runId: store.beginRun('watch'), resubmitAfterMs: 0, leaseMs: lease, now: store.now() + lease + 1}),
  markSubmitting: (store, key, run) => store.markSubmitting(key, run),
  recordSubmitted: (store, key, run) => store.recordSubmitted(key, run, submitted),
  recordMonitored: (store, key) => store.recordMonitored(key, {projects: [{id: 'p-2'}]}),
  recordFailed: (store, key, run) => store.recordFailed(key, run, {error: 'HTTP 503', retryable: true}),
  recordSkipped: (store, key, run) => store.recordSkipped(key, run, {reason: 'unsupported registry', fix: 'none'}),
  persistQueue: (store, key, run) => store.persistQueue([key], run),
  release: (store, key, run) => store.release(key, run),
}

for (const [name, transition] of Object.entries(submissionTransitions) as Array<[keyof typeof submissionTransitions, (typeof submissionTransitions)[keyof typeof submissionTransitions]]>) {
  test(`${name}: ${transition.from.join(', ')} -> ${transition.to}; any other state is left as it is`, () => {
    for (const from of states) {
      const {store, key, run} = storeIn(from)
      try {
        const allowed = (transition.from as readonly StateOrNone[]).includes(from)
        try {
          operations[name](store, key, run)
        } catch (error) {
          assert.ok(!allowed, `${name} from ${from} threw: ${String(error)}`)
        }
        assert.equal(store.getSubmission(key)?.state ?? 'none', allowed ? transition.to : from, `${name} from ${from}`)
      } finally {
        store.close()
      }
    }
  })
}

test('pendingWork lists exactly the unfinished states', () => {
  for (const from of states) {
    const {store} = storeIn(from)
    try {
      assert.equal(store.pendingWork().length, (unfinishedStates as readonly StateOrNone[]).includes(from) ? 1 : 0, from)
    } finally {
      store.close()
    }
  }
})
