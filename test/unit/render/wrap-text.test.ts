// Cells wrap where a person would break the text: after the parts of a host and a path, between the words
// of a sentence, and inside a word only when the word alone is wider than the column.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {longestWord, wrapText} from '../../../src/render/wrap-text.ts'
import {linesSpelling} from './table-text.ts'

describe('wrapText', () => {
  it('breaks a registry host and path after `.`, `:`, `/` and `-`, never inside a part', () => {
    assert.deepEqual(wrapText('registry.acme.internal:5000/ops/tools:7', 16), ['registry.acme.', 'internal:5000/', 'ops/tools:7'])
    assert.deepEqual(wrapText('123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api', 24), ['123456789012.dkr.ecr.eu-', 'west-1.amazonaws.com/', 'payments/api'])
    assert.deepEqual(wrapText('docker.io/envoyproxy/envoy@sha256:5be1ecc7935f', 30), ['docker.io/envoyproxy/envoy@', 'sha256:5be1ecc7935f'])
  })

  it('breaks a sentence between words and drops the space it broke at', () => {
    assert.deepEqual(wrapText('reference it by tag and digest in the pod spec', 12), ['reference it', 'by tag and', 'digest in', 'the pod spec'])
    assert.deepEqual(wrapText('in the pod spec', 9), ['in the', 'pod spec'])
  })

  it('keeps a flag together (`--integration`) and breaks a URL after its scheme', () => {
    assert.deepEqual(wrapText('and pass --integration registry.internal:5000=TYPE:<id>', 24), ['and pass --integration', 'registry.internal:', '5000=TYPE:<id>'])
    assert.deepEqual(wrapText('https://app.snyk.io/org/acme', 10), ['https://', 'app.snyk.', 'io/org/', 'acme'])
  })

  it('breaks a word hard only when it alone is wider than the column, on a line of its own', () => {
    assert.deepEqual(wrapText('digest 5be1ecc7935f8a2f3b1e', 8), ['digest', '5be1ecc7', '935f8a2f', '3b1e'])
  })

  it('keeps the cell\'s own lines, each wrapped', () => {
    assert.deepEqual(wrapText('ok\nwarning: 3 pods skipped', 12), ['ok', 'warning: 3', 'pods skipped'])
    assert.deepEqual(wrapText('a\n\nb', 5), ['a', '', 'b'])
  })

  it('measures the longest word by the same rule: at that width no word breaks, one less and one does', () => {
    for (const text of ['registry.acme.internal:5000/ops/tools:7', 'no Snyk integration for registry registry.internal:5000', 'pass --integration host=TYPE:ID', 'prod-eu, prod-us (3 containers)']) {
      const longest = longestWord(text)
      // Lines put back together spell the text only when every break was at a boundary.
      assert.deepEqual(linesSpelling(wrapText(text, longest), text), wrapText(text, longest), text)
      assert.throws(() => linesSpelling(wrapText(text, longest - 1), text), /no lines spell/, `${text}: narrower than ${longest} breaks a word`)
    }
    assert.equal(longestWord('registry.acme.internal:5000/ops/tools:7'), 'internal:'.length)
    assert.equal(longestWord('pass --integration'), '--integration'.length)
  })

  it('never loses a character or writes a line wider than the width, whatever the text', () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const alphabet = 'ab1 -./:@\n'
    for (let round = 0; round < 2000; round++) {
      const text = Array.from({length: Math.floor(random() * 40)}, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
      const width = 1 + Math.floor(random() * 12)
      const lines = wrapText(text, width)
      assert.ok(lines.every((line) => line.length <= width), `${JSON.stringify(text)} at ${width}: ${JSON.stringify(lines)}`)
      assert.equal(lines.join('').replace(/[ \n]/g, ''), text.replace(/[ \n]/g, ''), JSON.stringify(text))
      assert.ok(lines.length >= text.split('\n').length, 'every line of the cell keeps at least one line')
    }
  })
})
