// The one width allocator and table writer of sync and status: widths follow the content, within the terminal.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {FittedTable, fitWidths, type FittedColumn} from '../../../src/render/fitted-table.ts'
import {columnLines, linesSpelling, tableLines} from './table-text.ts'

function render(columns: FittedColumn[], rows: string[][], width: number): string {
  const table = new FittedTable(columns, width)
  for (const row of rows) table.push(row)
  return table.toString()
}

const reason = 'no Snyk integration for registry registry.acme.internal:5000'
const images = [
  ['registry.acme.internal:5000/ops/tools:7', 'b7b7b7b7b7b7', 'would-skip', reason],
  ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:4.2.0', 'a1a1a1a1a1a1', 'would-submit', 'payments/api:4.2.0 (ecr)'],
]
const imageColumns: FittedColumn[] = [{head: 'IMAGE'}, {head: 'DIGEST', whole: true}, {head: 'RESULT', whole: true}, {head: 'REASON'}]

describe('FittedTable', () => {
  it('gives each column the width of its content when all fit: a short status stays short on a wide terminal', () => {
    const text = render([{head: 'TARGET'}, {head: 'PODS'}, {head: 'STATUS'}], [['prod-eu', '12', 'ok'], ['prod-us', '9', 'ok']], 150)
    assert.equal(text.split('\n')[0], '┌─────────┬──────┬────────┐')
    assert.match(text, /^│ prod-eu │ 12 {3}│ ok {5}│$/m)
  })

  it('when the content is wider than the terminal, breaks only at boundaries and keeps digests and results whole', () => {
    const text = render(imageColumns, images, 90)
    for (const line of tableLines(text)) assert.equal(line.length, 90, `fills the width it needs: ${line}`)
    const image = columnLines(text, 0)
    for (const [reference] of images) {
      const lines = linesSpelling(image, reference!)
      assert.ok(lines.length > 1, `${reference} wraps`)
      for (const line of lines.slice(0, -1)) assert.match(line, /[.:/@-]$/, `${reference} breaks after a boundary: ${JSON.stringify(lines)}`)
    }
    assert.ok(linesSpelling(columnLines(text, 3), reason).length > 1, 'the sentence wraps between words')
    assert.deepEqual(columnLines(text, 1).filter(Boolean), ['DIGEST', 'b7b7b7b7b7b7', 'a1a1a1a1a1a1'])
    assert.deepEqual(columnLines(text, 2).filter(Boolean), ['RESULT', 'would-skip', 'would-submit'])
  })

  it('every line of the table has the same width, at most the terminal\'s, at any width', () => {
    for (let width = 20; width <= 200; width += 7) {
      const lines = tableLines(render(imageColumns, images, width))
      const widths = new Set(lines.map((line) => line.length))
      assert.equal(widths.size, 1, `${width}: ${[...widths].join(', ')}`)
      assert.ok(lines[0]!.length <= width, `${width}: ${lines[0]!.length}`)
    }
  })

  it('breaks a word hard only when the column cannot hold it; a whole column keeps its width', () => {
    const text = render([{head: 'DIGEST', whole: true}, {head: 'NOTE'}], [['5be1ecc7935f', 'a-very-long-hyphenated-word and supercalifragilistic']], 30)
    assert.deepEqual(columnLines(text, 0).filter(Boolean), ['DIGEST', '5be1ecc7935f'], 'the digest stays whole')
    const note = columnLines(text, 1).filter(Boolean).slice(1)
    assert.deepEqual(note, ['a-very-', 'long-', 'hyphenated-', 'word and', 'supercalifr', 'agilistic'])
  })

  it('leaves the optional column out only when the others would have to break words', () => {
    const columns: FittedColumn[] = [{head: 'IMAGE'}, {head: 'FIPS', optional: true}, {head: 'C/H/M/L', whole: true}]
    const rows = [['docker.io/library/nginx', 'no', '0/2/13/7'], ['quay.io/acme/hsm-proxy', 'yes', '1/0/3/7']]
    assert.match(render(columns, rows, 36), /│ FIPS │/, 'narrower than its content, but no word breaks')
    assert.doesNotMatch(render(columns, rows, 26), /FIPS/)
    assert.match(render(columns, rows, 26), /^│ docker\.io\/ +│ 0\/2\/13\/7 │$/m, 'the row keeps its other cells, in order')
  })
})

describe('fitWidths', () => {
  it('natural widths when they fit; otherwise the floors, and the rest to what each column still wants', () => {
    assert.deepEqual(fitWidths([{natural: 2, floor: 2}, {natural: 40, floor: 10}], 100), [2, 40])
    // 40 less 10 of borders and padding is 30; the floors take 23. The tag wants 1 more, less than an equal
    // share of the 7 left: it gets it. The other 6 go 10 : 30 to the columns that want 10 and 30 more.
    assert.deepEqual(fitWidths([{natural: 4, floor: 3}, {natural: 20, floor: 10}, {natural: 40, floor: 10}], 40), [4, 12, 14])
    // Even the floors do not fit in 20: the whole column keeps its 10, the tag still gets its 3 and the last
    // column what is left, 7, so only its longest words break.
    assert.deepEqual(fitWidths([{natural: 4, floor: 3}, {natural: 20, floor: 10}, {natural: 40, floor: 10, whole: true}], 30), [3, 7, 10])
  })

  it('never gives a column more than its natural width nor the table more than the width', () => {
    for (let width = 10; width <= 120; width++) {
      const needs = [{natural: 30, floor: 9}, {natural: 4, floor: 3}, {natural: 12, floor: 12, whole: true}, {natural: 60, floor: 11}]
      const widths = fitWidths(needs, width)
      assert.ok(widths.every((w, i) => w >= 1 && w <= needs[i]!.natural), `${width}: ${widths.join(', ')}`)
      assert.ok(widths.reduce((a, b) => a + b, 0) + 3 * needs.length + 1 <= width || widths.every((w) => w === 1), `${width}: ${widths.join(', ')}`)
    }
  })
})
