// Whether the store answers (src/state/store-health.ts): what watch's /readyz says, and how an import's record
// outlives a store that stops answering for a moment (src/submit/import-step.ts untilStored).
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {StateStoreError} from '../../../src/state/state-store-error.ts'
import {openStateStore, type StateStore} from '../../../src/state/state-store.ts'
import {StoreHealth, withStoreHealth} from '../../../src/state/store-health.ts'
import {untilStored} from '../../../src/submit/import-step.ts'

const unreachable = () => new StateStoreError('cannot reach the PostgreSQL state database at db:5432: connect ECONNREFUSED', {code: 'STATE_STORE_UNREACHABLE', path: 'postgres://u:*****@db/x', suggestions: []})

test('a store that stops answering is unhealthy with the reason until a call succeeds; other errors do not count', async () => {
  let down = false
  const sqlite = openStateStore(':memory:')
  const flaky = new Proxy(sqlite, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (property !== 'beginRun' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value
      return async (command: string) => {
        if (down) throw unreachable()
        return (value as (c: string) => string).call(target, command)
      }
    },
  }) as StateStore
  const health = new StoreHealth()
  const store = withStoreHealth(flaky, health)
  assert.equal(store.path, ':memory:', 'properties pass through')
  assert.equal(health.problem, undefined)
  down = true
  await assert.rejects(Promise.resolve(store.beginRun('watch')), /ECONNREFUSED/)
  assert.match(health.problem ?? '', /cannot reach the PostgreSQL state database at db:5432/)
  assert.throws(() => store.finishRun('no-such-run', 'succeeded'), /unknown run/, 'a bug is not an outage')
  assert.match(health.problem ?? '', /ECONNREFUSED/, 'still unhealthy')
  down = false
  assert.match(await store.beginRun('watch'), /^[0-9a-f-]{36}$/)
  assert.equal(health.problem, undefined, 'healthy again with the first call that succeeds')
  await store.close()
})

test('untilStored tries a write again while the store does not answer, and gives up on other errors or a stop', async () => {
  let calls = 0
  assert.equal(await untilStored(async () => (++calls < 3 ? Promise.reject(unreachable()) : 'stored'), new AbortController().signal), 'stored')
  assert.equal(calls, 3)
  await assert.rejects(untilStored(async () => Promise.reject(new Error('a bug')), new AbortController().signal), /a bug/)
  const stopped = new AbortController()
  stopped.abort()
  await assert.rejects(untilStored(async () => Promise.reject(unreachable()), stopped.signal), /ECONNREFUSED/)
})
