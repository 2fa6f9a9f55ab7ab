import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {writeJson} from '../../../src/render/json-output.ts'

const written = (value: object, batch?: number): string => {
  let text = ''
  writeJson(value, (piece) => (text += piece), batch)
  return text
}

describe('writeJson', () => {
  it('writes exactly what JSON.stringify(value, null, 2) writes, in pieces', () => {
    const images = Array.from({length: 7}, (_, i) => ({image: `docker.io/acme/app-${i}:1`, reason: i % 2 ? 'line one\nline "two"' : undefined, runsIn: {clusters: ['dev'], namespaces: [], containers: i}, fn: () => i}))
    const values: object[] = [
      {},
      {a: undefined, b: () => 1},
      {schemaVersion: 1, command: 'status', images, empty: [], drift: [[1, [2]], {}], gate: {images: [{image: 'x'}]}, message: undefined, nested: {deep: {deeper: [null, undefined, 'ü']}}},
      {only: [undefined, () => 1, Symbol('s'), {toJSON: () => 'custom'}, new Date(0)]},
    ]
    for (const value of values) {
      for (const batch of [1, 2, 3, 500]) assert.equal(written(value, batch), `${JSON.stringify(value, null, 2)}\n`, `${JSON.stringify(value)} in batches of ${batch}`)
    }
    let pieces = 0
    writeJson({images}, () => pieces++, 2)
    assert.ok(pieces > 4, 'a long array is written a few elements at a time')
    assert.throws(() => writeJson({}, () => {}, 0), /batch must be a positive integer/)
  })
})
