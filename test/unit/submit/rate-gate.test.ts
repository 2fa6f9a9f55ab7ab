import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {RateGate} from '../../../src/submit/rate-gate.ts'
import type {PausedEvent, RateChangedEvent} from '../../../src/submit/rate-gate.ts'
import {ManualClock, settle} from './manual-clock.ts'

const never = new AbortController().signal

function gate(clock: ManualClock, ratePerMinute = 600): {gate: RateGate; paused: PausedEvent[]; rates: RateChangedEvent[]; resumed: number[]} {
  const rateGate = new RateGate({ratePerMinute, clock, random: () => 0.5})
  const paused: PausedEvent[] = []
  const rates: RateChangedEvent[] = []
  const resumed: number[] = []
  rateGate.on('paused', (event) => paused.push(event))
  rateGate.on('rate-changed', (event) => rates.push(event))
  rateGate.on('resumed', ({pausedMs}) => resumed.push(pausedMs))
  return {gate: rateGate, paused, rates, resumed}
}

/** Starts `count` acquires at once and records when each is granted (relative to the start). */
function acquireMany(clock: ManualClock, rateGate: RateGate, count: number, signal = never): {granted: number[]; done: Promise<unknown>} {
  const start = clock.now()
  const granted: number[] = []
  const done = Promise.allSettled(Array.from({length: count}, () => rateGate.acquire(signal).then((at) => granted.push(at - start))))
  return {granted, done}
}

describe('RateGate pacing', () => {
  it('spaces requests by 60000 / rate ms from absolute slots, so the rate does not drift', async () => {
    const clock = new ManualClock()
    const {gate: rateGate} = gate(clock, 600)
    const {granted, done} = acquireMany(clock, rateGate, 5)
    await clock.advance(1000)
    await done
    assert.deepEqual(granted, [0, 100, 200, 300, 400])
  })

  it('gives no burst after an idle period', async () => {
    const clock = new ManualClock()
    const {gate: rateGate} = gate(clock, 600)
    await rateGate.acquire(never)
    await clock.advance(5000)
    const {granted, done} = acquireMany(clock, rateGate, 3)
    await clock.advance(1000)
    await done
    assert.deepEqual(granted, [0, 100, 200])
  })

  it('makes up a lag of up to one second (workers were busy), but not a longer one', async () => {
    const clock = new ManualClock()
    const {gate: rateGate} = gate(clock, 600)
    await rateGate.acquire(never)
    await clock.advance(400)
    const caughtUp = acquireMany(clock, rateGate, 6)
    await clock.advance(1000)
    await caughtUp.done
    // slots 100, 200, 300, 400 were missed: they go at once, then the schedule goes on
    assert.deepEqual(caughtUp.granted, [0, 0, 0, 0, 100, 200])
    await clock.advance(1500)
    const idle = acquireMany(clock, rateGate, 2)
    await clock.advance(1000)
    await idle.done
    assert.deepEqual(idle.granted, [0, 100])
  })

  it('rejects a waiting acquire with the signal reason when aborted', async () => {
    const clock = new ManualClock()
    const {gate: rateGate} = gate(clock, 60)
    await rateGate.acquire(never)
    const controller = new AbortController()
    const waiting = rateGate.acquire(controller.signal)
    const reason = new Error('interrupted')
    controller.abort(reason)
    await assert.rejects(waiting, (error) => error === reason)
  })
})

describe('RateGate 429 pause', () => {
  it('honours Retry-After: nobody is granted a slot before it ends, then slots are spaced again', async () => {
    const clock = new ManualClock()
    const {gate: rateGate, paused, resumed} = gate(clock, 600)
    const sentAt = await rateGate.acquire(never)
    const until = rateGate.onRateLimited({sentAt, retryAfterMs: 5000})
    assert.equal(until, clock.now() + 5000)
    assert.deepEqual(paused.map((event) => [event.reason, event.durationMs]), [['retry-after', 5000]])
    const {granted, done} = acquireMany(clock, rateGate, 3)
    await clock.advance(4999)
    assert.deepEqual(granted, [])
    await clock.advance(2000)
    await done
    // the rate dropped by 10% (no request was accepted in the window): interval 60000 / 540
    assert.deepEqual(granted.map(Math.round), [5000, 5111, 5222])
    assert.equal(resumed.length, 1)
  })

  it('without Retry-After, waits for the end of the observed window and lowers the rate to what was accepted', async () => {
    const clock = new ManualClock()
    const {gate: rateGate, paused, rates} = gate(clock, 600)
    const start = clock.now()
    for (let i = 0; i < 10; i += 1) rateGate.onAccepted(await acquireNext(clock, rateGate))
    const sentAt = await acquireNext(clock, rateGate)
    const until = rateGate.onRateLimited({sentAt})
    // window began with the first request; margin max(100, 60000 / 50) = 1200 ms
    assert.equal(until, start + 60_000 + 1200)
    assert.equal(paused[0]?.reason, 'window')
    // 10 accepted in the window, but never below a quarter in one step
    assert.deepEqual(rates.map((event) => event.ratePerMinute), [150])
  })

  it('lowers the rate to just under what Snyk accepted in the observed window', async () => {
    const clock = new ManualClock()
    const {gate: rateGate, rates} = gate(clock, 600)
    for (let i = 0; i < 300; i += 1) rateGate.onAccepted(await acquireNext(clock, rateGate))
    rateGate.onRateLimited({sentAt: await acquireNext(clock, rateGate)})
    assert.deepEqual(rates.map((event) => event.ratePerMinute), [285])
  })

  it('backs off exponentially when 429s follow a pause without any accepted request (window guess wrong)', async () => {
    const clock = new ManualClock()
    const {gate: rateGate, paused} = gate(clock, 600)
    rateGate.onAccepted(await rateGate.acquire(never))
    rateGate.onRateLimited({sentAt: await acquireNext(clock, rateGate)})
    for (let i = 0; i < 3; i += 1) {
      const next = rateGate.acquire(never)
      await clock.advance(70_000)
      rateGate.onRateLimited({sentAt: await next})
    }
    // probes: minuteMs / 16 doubling (jitter factor 1 with random 0.5)
    assert.deepEqual(paused.map((event) => [event.reason, Math.round(event.durationMs)]).slice(1), [['probe', 3750], ['probe', 7500], ['probe', 15000]])
  })

  it('ignores a 429 for a request sent before the current pause began (same burst)', async () => {
    const clock = new ManualClock()
    const {gate: rateGate, paused} = gate(clock, 600)
    const first = await rateGate.acquire(never)
    const second = await acquireNext(clock, rateGate)
    await clock.advance(10)
    rateGate.onRateLimited({sentAt: second, retryAfterMs: 1000})
    rateGate.onRateLimited({sentAt: first, retryAfterMs: 30_000})
    assert.equal(paused.length, 1)
    assert.equal(rateGate.pausedUntil, clock.now() + 1000)
  })

  it('climbs back towards the configured rate after a quiet period', async () => {
    const clock = new ManualClock()
    const {gate: rateGate, rates} = gate(clock, 600)
    rateGate.onRateLimited({sentAt: await rateGate.acquire(never), retryAfterMs: 0})
    assert.equal(rateGate.ratePerMinute, 540)
    await clock.advance(120_000)
    rateGate.onAccepted(await rateGate.acquire(never))
    assert.equal(rateGate.ratePerMinute, 600)
    assert.deepEqual(rates.map((event) => event.reason), ['rate-limited', 'recovering'])
  })
})

async function acquireNext(clock: ManualClock, rateGate: RateGate): Promise<number> {
  const next = rateGate.acquire(never)
  await settle()
  await clock.advance(60_000 / rateGate.ratePerMinute)
  return next
}
