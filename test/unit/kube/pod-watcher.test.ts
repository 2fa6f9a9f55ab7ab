// The watch stream's line splitting and the reconnect delays (the shared retry policy).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {KubeRequestError, type KubeApiClient} from '../../../src/kube/kube-api-client.ts'
import {followTargetPods, splitLines, type PodStreamEvents} from '../../../src/kube/pod-watcher.ts'

async function* chunksOf(...chunks: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const chunk of chunks) yield chunk
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const line of lines) out.push(line)
  return out
}

describe('splitLines', () => {
  it('joins lines split across chunks and splits chunks holding several lines', async () => {
    const lines = await collect(splitLines(chunksOf('{"a":', '1}\n{"b":2}\n{"c"', ':3}\n', '\n', '{"d":4}')))
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}'])
  })

  it('decodes a multi-byte character split between two chunks', async () => {
    const bytes = Buffer.from('{"name":"café-ü"}\n')
    const cut = bytes.indexOf(0xc3) + 1
    const lines = await collect(splitLines(chunksOf(new Uint8Array(bytes.subarray(0, cut)), new Uint8Array(bytes.subarray(cut)))))
    assert.deepEqual(lines.map((line) => JSON.parse(line) as unknown), [{name: 'café-ü'}])
  })

  it('reads the next chunk only when the consumer asks for more', async () => {
    let pulled = 0
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < 100; i++) {
        pulled++
        yield `{"i":${i}}\n`
      }
    }
    const lines = splitLines(source())
    await lines.next()
    await lines.next()
    assert.equal(pulled, 2)
    await lines.return(undefined)
  })

  it('refuses a line larger than the limit', async () => {
    await assert.rejects(collect(splitLines(chunksOf('x'.repeat(10), 'y'.repeat(10)), 15)), /exceeds 15 bytes/)
  })
})

describe('watch reconnect delays', () => {
  /** Follows a fake target whose every request fails with `failure`; returns the first `count` restart delays. */
  async function delaysOf(failure: () => unknown, count: number, random: () => number): Promise<number[]> {
    const controller = new AbortController()
    const delays: number[] = []
    const client = {
      target: {name: 'fake', context: 'fake'},
      getJson: () => Promise.reject(failure()),
      stream: () => Promise.reject(failure()),
    } as unknown as KubeApiClient
    const events: PodStreamEvents = {
      listStarted: () => undefined,
      listPage: () => undefined,
      listed: () => undefined,
      upserted: () => undefined,
      deleted: () => undefined,
      restarting: ({delayMs}) => {
        delays.push(delayMs)
        if (delays.length >= count) controller.abort()
      },
    }
    await followTargetPods(client, {namespaces: [], excludeNamespaces: [], skipJobPods: false}, events, {signal: controller.signal, backoff: {initialMs: 1, maxMs: 8}, random})
    return delays
  }

  it('follow the shared backoff formula: doubling from initialMs, jittered by [1, 2), capped at maxMs', async () => {
    const reset = () => new KubeRequestError('unreachable', 'reset', {cause: Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'})})
    assert.deepEqual(await delaysOf(reset, 6, () => 0), [1, 2, 4, 8, 8, 8])
    assert.deepEqual(await delaysOf(reset, 4, () => 0.5), [2, 3, 6, 8])
  })

  it('wait at least the Retry-After the server asked for, and retry even failures sync would not (a follower runs until stopped)', async () => {
    const busy = () => Object.assign(new KubeRequestError('server', 'answered 429', {status: 429}), {retryAfterMs: 30})
    assert.deepEqual(await delaysOf(busy, 2, () => 0), [30, 30])
    const forbidden = () => new KubeRequestError('forbidden', 'pods is forbidden', {status: 403})
    assert.deepEqual(await delaysOf(forbidden, 2, () => 0), [1, 2])
  })
})
