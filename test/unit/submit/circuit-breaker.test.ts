import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CircuitBreaker, CircuitOpenError} from '../../../src/submit/circuit-breaker.ts'
import {ManualClock, settle} from './manual-clock.ts'

const never = new AbortController().signal

function breaker(clock: ManualClock): {breaker: CircuitBreaker; events: string[]} {
  const circuit = new CircuitBreaker({failureThreshold: 3, cooldownMs: 1000, maxCooldownMs: 3000, clock})
  const events: string[] = []
  circuit.on('open', ({cooldownMs}) => events.push(`open ${cooldownMs}`))
  circuit.on('half-open', () => events.push('half-open'))
  circuit.on('closed', () => events.push('closed'))
  return {breaker: circuit, events}
}

async function fail(circuit: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) (await circuit.admit(never)).failed()
}

describe('CircuitBreaker', () => {
  it('opens after failureThreshold consecutive retryable failures and refuses callers during the cool-down', async () => {
    const clock = new ManualClock()
    const {breaker: circuit, events} = breaker(clock)
    await fail(circuit, 2)
    ;(await circuit.admit(never)).succeeded()
    await fail(circuit, 2)
    assert.equal(circuit.state, 'closed', 'failures must be consecutive')
    await fail(circuit, 1)
    assert.equal(circuit.state, 'open')
    assert.deepEqual(events, ['open 1000'])
    await clock.advance(400)
    await assert.rejects(circuit.admit(never), (error) => error instanceof CircuitOpenError && error.retryAfterMs === 600 && error.retryable)
  })

  it('after the cool-down lets exactly one probe through; the others wait for its outcome and go when it succeeds', async () => {
    const clock = new ManualClock()
    const {breaker: circuit, events} = breaker(clock)
    await fail(circuit, 3)
    await clock.advance(1000)
    const probe = await circuit.admit(never)
    assert.equal(probe.probe, true)
    let admitted = 0
    const waiters = Array.from({length: 3}, () => circuit.admit(never).then((permit) => (admitted += 1, permit)))
    await settle()
    assert.equal(admitted, 0, 'nobody else sends while the probe is in flight')
    probe.succeeded()
    const permits = await Promise.all(waiters)
    assert.equal(admitted, 3)
    assert.ok(permits.every((permit) => !permit.probe))
    assert.equal(circuit.state, 'closed')
    assert.deepEqual(events, ['open 1000', 'half-open', 'closed'])
  })

  it('re-opens with a doubled cool-down (capped) when the probe fails, and the waiters get CircuitOpenError', async () => {
    const clock = new ManualClock()
    const {breaker: circuit, events} = breaker(clock)
    await fail(circuit, 3)
    for (const expected of [2000, 3000]) {
      await clock.advance(10_000)
      const probe = await circuit.admit(never)
      const waiter = circuit.admit(never)
      probe.failed()
      await assert.rejects(waiter, (error) => error instanceof CircuitOpenError && error.retryAfterMs === expected)
    }
    assert.deepEqual(events, ['open 1000', 'half-open', 'open 2000', 'half-open', 'open 3000'])
  })

  it('hands the probe to the next caller when the probe ends without a verdict (429, aborted)', async () => {
    const clock = new ManualClock()
    const {breaker: circuit} = breaker(clock)
    await fail(circuit, 3)
    await clock.advance(1000)
    const probe = await circuit.admit(never)
    const next = circuit.admit(never)
    probe.release()
    const permit = await next
    assert.equal(permit.probe, true)
    permit.succeeded()
    assert.equal(circuit.state, 'closed')
  })

  it('a waiter whose signal aborts stops waiting with the signal reason', async () => {
    const clock = new ManualClock()
    const {breaker: circuit} = breaker(clock)
    await fail(circuit, 3)
    await clock.advance(1000)
    await circuit.admit(never)
    const controller = new AbortController()
    const waiter = circuit.admit(controller.signal)
    const reason = new Error('stop')
    controller.abort(reason)
    await assert.rejects(waiter, (error) => error === reason)
  })
})
