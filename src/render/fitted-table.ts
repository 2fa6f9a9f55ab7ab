// The one table writer of `sync` and `status`: column widths follow the content, within the terminal width.
//
// Each column asks for its natural width (its widest line, head included) and goes down to its floor (its
// longest word: wrap-text.ts breaks lines only between words), or for a column read whole, its widest line.
// When every column fits at its natural width, that is its width: a column of `ok` stays narrow. Otherwise
// each column gets its floor and the width left is shared out: columns that want no more than an equal share
// get all they want (a tag, a short result), the others share the rest in proportion to what they still want
// (long names and sentences then wrap to about the same height). When even the floors do not fit, optional
// columns are left out (the last first), and if that is not enough, words break: whole columns keep their
// floor while the others can give way, the rest shrink in proportion to their floors. The table is never
// wider than the width given, unless that has no room for one character per column.
//
// Measuring needs every row before the first is written, so rows are kept until toString(): the cells then
// outlive the young generation, which TextTable alone avoids. Rows that fit on one line still take TextTable's
// fast path, and the floors are only measured when the natural widths do not fit (20,000 status rows in a
// cold process: about 90 ms instead of TextTable's 60 when they are measured, a few ms more when they are not).
import {TextTable} from './text-table.ts'
import {longestWord, widestLine} from './wrap-text.ts'

export interface FittedColumn {
  head: string
  /** Read whole (a digest, counts like `0/2/3/7`, a result): not narrower than its widest line unless nothing else can give way. */
  whole?: boolean
  /** Left out (the last optional column first) when the table would otherwise have to break words. */
  optional?: boolean
}

/** What a column's content asks for: its widest line, and the narrowest it goes without breaking a word (at most `natural`). */
export interface ColumnNeed {
  natural: number
  floor: number
  /** Read whole: when words must break, this column keeps its floor while the others can give way. */
  whole?: boolean
}

/** The characters of a table of `n` columns that are not content: a border around and between the columns, a space each side of a cell. */
const chrome = (n: number): number => 3 * n + 1

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

/** `base` widened towards `want` with `spare` characters (less than the wants add up to): see the top of the file. */
function share(base: readonly number[], want: readonly number[], spare: number): number[] {
  const widths = [...base]
  const open = new Set(base.keys())
  for (;;) {
    const fair = spare / open.size
    const modest = [...open].filter((i) => want[i]! - widths[i]! <= fair)
    if (modest.length === 0) break
    for (const i of modest) {
      spare -= want[i]! - widths[i]!
      widths[i] = want[i]!
      open.delete(i)
    }
  }
  const wanted = sum([...open].map((i) => want[i]! - widths[i]!))
  const exact = [...open].map((i) => ({i, extra: (spare * (want[i]! - widths[i]!)) / wanted}))
  for (const {i, extra} of exact) widths[i]! += Math.floor(extra)
  // Rounding down left a few characters: one each to the columns it shorted most.
  let left = spare - sum(exact.map(({extra}) => Math.floor(extra)))
  for (const {i} of exact.sort((a, b) => (b.extra % 1) - (a.extra % 1))) {
    if (left <= 0) break
    widths[i]!++
    left--
  }
  return widths
}

/** Content widths (without padding) for columns that need `needs`, in a table at most `width` characters wide. */
export function fitWidths(needs: readonly ColumnNeed[], width: number): number[] {
  const available = width - chrome(needs.length)
  const natural = needs.map((n) => Math.max(1, n.natural))
  if (sum(natural) <= available) return natural
  const floor = needs.map((n, i) => Math.min(natural[i]!, Math.max(1, n.floor)))
  if (sum(floor) <= available) return share(floor, natural, available - sum(floor))
  // Words must break: columns read whole keep their floor if the others can still have a character each,
  // and the rest is shared by what each floor asks.
  const one = needs.map(() => 1)
  const kept = needs.map((n, i) => (n.whole ? floor[i]! : 1))
  const base = sum(kept) <= available ? kept : one
  return sum(base) >= available ? base : share(base, floor, available - sum(base))
}

export class FittedTable {
  readonly #columns: readonly FittedColumn[]
  readonly #width: number
  readonly #rows: Array<readonly string[]> = []

  /** `width`: the terminal's columns. */
  constructor(columns: readonly FittedColumn[], width: number) {
    this.#columns = columns
    this.#width = width
  }

  /** One cell per column. */
  push(cells: readonly string[]): void {
    this.#rows.push(cells)
  }

  /** Column by column: each pass over the rows reads one cell of each. */
  #needs(): ColumnNeed[] {
    const rows = this.#rows
    const natural = this.#columns.map((c, i) => {
      let widest = widestLine(c.head)
      for (const row of rows) {
        const cell = row[i] ?? ''
        if (cell.length > widest) widest = Math.max(widest, widestLine(cell))
      }
      return widest
    })
    // The floors only matter when the natural widths do not fit. A cell no longer than the longest word so
    // far cannot hold a longer one, and a column read whole does not give way to its words.
    if (sum(natural) + chrome(natural.length) <= this.#width) return this.#columns.map((c, i) => ({natural: natural[i]!, floor: natural[i]!, whole: c.whole === true}))
    return this.#columns.map((c, i) => {
      if (c.whole === true) return {natural: natural[i]!, floor: natural[i]!, whole: true}
      let longest = longestWord(c.head)
      for (const row of rows) {
        const cell = row[i] ?? ''
        if (cell.length > longest) longest = Math.max(longest, longestWord(cell))
      }
      return {natural: natural[i]!, floor: longest, whole: false}
    })
  }

  toString(): string {
    const needs = this.#needs()
    let shown = this.#columns.map((_, i) => i)
    const floors = (columns: readonly number[]) => sum(columns.map((i) => needs[i]!.floor)) + chrome(columns.length)
    while (floors(shown) > this.#width) {
      const last = shown.findLast((i) => this.#columns[i]!.optional)
      if (last === undefined) break
      shown = shown.filter((i) => i !== last)
    }
    const widths = fitWidths(shown.map((i) => needs[i]!), this.#width)
    const table = new TextTable(shown.map((i, at) => ({head: this.#columns[i]!.head, width: widths[at]! + 2})))
    const all = shown.length === this.#columns.length
    for (const row of this.#rows) table.push(all ? row : shown.map((i) => row[i] ?? ''))
    return table.toString()
  }
}
