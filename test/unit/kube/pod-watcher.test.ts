// The watch stream's line splitting and the reconnect backoff.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {reconnectDelay, splitLines} from '../../../src/kube/pod-watcher.ts'

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

describe('reconnectDelay', () => {
  const backoff = {initialMs: 100, maxMs: 1000}
  it('grows exponentially and stays between half and all of the capped delay', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((attempt) => reconnectDelay(attempt, backoff, () => 0.999999)), [100, 200, 400, 800, 1000, 1000])
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((attempt) => reconnectDelay(attempt, backoff, () => 0)), [50, 100, 200, 400, 500, 500])
  })
})
