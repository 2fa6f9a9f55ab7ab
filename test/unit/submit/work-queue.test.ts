// The submission stage's work queue: each key once, never while in flight, due later, drained on stop.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {WorkQueue} from '../../../src/submit/work-queue.ts'

test('a key is queued once, and not again while it is in flight; it can be queued again once its work settles', async () => {
  const queue = new WorkQueue<string>()
  assert.equal(queue.add('a', 'image a'), true)
  assert.equal(queue.add('a', 'image a'), false, 'already queued')
  let finish!: () => void
  const started: string[] = []
  assert.equal(queue.startNext(1, async (key, item) => {
    started.push(`${key}=${item}`)
    await new Promise<void>((resolve) => (finish = resolve))
  }, () => {}), true)
  assert.deepEqual(started, ['a=image a'])
  assert.equal(queue.size, 0)
  assert.equal(queue.inFlight, 1)
  assert.equal(queue.add('a', 'image a'), false, 'in flight')
  finish()
  await Promise.all(queue.inFlightWork())
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(queue.inFlight, 0)
  assert.equal(queue.add('a', 'image a'), true)
})

test('no more than the limit start at once, in the order they were queued; settled() is called as each ends', async () => {
  const queue = new WorkQueue<number>()
  for (const key of ['a', 'b', 'c']) queue.add(key, key.charCodeAt(0))
  const releases: Array<() => void> = []
  const order: string[] = []
  let settled = 0
  const work = async (key: string) => {
    order.push(key)
    await new Promise<void>((resolve) => releases.push(resolve))
  }
  while (queue.startNext(2, work, () => settled++));
  assert.deepEqual(order, ['a', 'b'])
  assert.equal(queue.size, 1)
  releases.shift()!()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(settled, 1)
  assert.equal(queue.startNext(2, work, () => settled++), true)
  assert.deepEqual(order, ['a', 'b', 'c'])
})

test('keys due later come back once their time has come; queueing a key drops its due time', () => {
  const queue = new WorkQueue<string>()
  queue.addAfter('later', 2_000)
  queue.addAfter('soon', 1_000)
  queue.addAfter('queued', 1_000)
  queue.add('queued', 'image')
  assert.deepEqual(queue.takeDue(500), [])
  assert.deepEqual(queue.takeDue(1_000), ['soon'])
  assert.equal(queue.isWaiting('later'), true)
  queue.forget('later')
  assert.deepEqual(queue.takeDue(5_000), [])
})

test('drain hands back what is queued, in order, and leaves the queue empty', () => {
  const queue = new WorkQueue<string>()
  queue.add('b', 'B')
  queue.add('a', 'A')
  queue.requeue('c', 'C')
  assert.deepEqual(queue.drain(), ['b', 'a', 'c'])
  assert.equal(queue.size, 0)
  assert.deepEqual(queue.drain(), [])
})
