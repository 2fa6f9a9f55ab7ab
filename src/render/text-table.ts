// A plain-text table in cli-table3's compact look (box-drawing borders, one space of padding, no colour),
// built for many rows: cli-table3 measures every cell through ANSI-aware width functions and takes seconds
// for 20,000 rows; this takes milliseconds. Cells wrap on newlines and at word and path boundaries
// (wrap-text.ts); the widths come from the caller (fitted-table.ts measures them from the content).
// Widths count UTF-16 code units: image names, digests and namespaces are ASCII.
//
// Rows are kept as a list of pieces (cells, and padding joined to the next border from a table of them), joined
// every few hundred rows: no string is built per cell or per line, which is what 20,000 rows cost most, and the
// cells' strings are garbage before the garbage collector has to move them.
import {wrapText} from './wrap-text.ts'

export interface TextColumn {
  head: string
  /** Width including one space of padding on each side. */
  width: number
}

function rule(widths: readonly number[], left: string, middle: string, right: string): string {
  return left + widths.map((w) => '─'.repeat(w)).join(middle) + right
}

export class TextTable {
  readonly #columns: TextColumn[]
  /** Content width of each column (its width less the padding). */
  readonly #inner: number[]
  /** `#after[i][n]`: what follows a cell of column i that is n characters short of its width: spaces, then the border (and the next cell's padding, or the end of the line). */
  readonly #after: string[][]
  #pieces: string[] = []
  /** Rows already joined. */
  readonly #chunks: string[] = []

  constructor(columns: TextColumn[]) {
    this.#columns = columns
    this.#inner = columns.map((c) => Math.max(1, c.width - 2))
    this.#after = this.#inner.map((width, i) => {
      const border = i === columns.length - 1 ? ' │\n' : ' │ '
      return Array.from({length: width + 1}, (_, short) => ' '.repeat(short) + border)
    })
    const widths = columns.map((c) => c.width)
    this.#pieces.push(`${rule(widths, '┌', '┬', '┐')}\n`)
    this.#row(columns.map((c) => c.head))
    this.#pieces.push(`${rule(widths, '├', '┼', '┤')}\n`)
  }

  push(cells: readonly string[]): void {
    this.#row(cells)
  }

  #row(cells: readonly string[]): void {
    const inner = this.#inner
    for (let i = 0; i < inner.length; i++) {
      const cell = cells[i] ?? ''
      // Most rows are one line: every cell fits and has no newline.
      if (cell.length > inner[i]! || cell.includes('\n')) return this.#wrappedRow(cells)
    }
    const pieces = this.#pieces
    pieces.push('│ ')
    for (let i = 0; i < inner.length; i++) {
      const cell = cells[i] ?? ''
      pieces.push(cell, this.#after[i]![inner[i]! - cell.length]!)
    }
    if (pieces.length >= 4096) this.#flush()
  }

  #flush(): void {
    this.#chunks.push(this.#pieces.join(''))
    this.#pieces = []
  }

  #wrappedRow(cells: readonly string[]): void {
    const inner = this.#inner
    const wrapped = inner.map((width, i) => wrapText(cells[i] ?? '', width))
    const height = Math.max(...wrapped.map((lines) => lines.length))
    const pieces = this.#pieces
    for (let line = 0; line < height; line++) {
      pieces.push('│ ')
      for (let i = 0; i < inner.length; i++) {
        const content = wrapped[i]![line] ?? ''
        pieces.push(content, this.#after[i]![inner[i]! - content.length]!)
      }
    }
    if (pieces.length >= 4096) this.#flush()
  }

  toString(): string {
    return `${this.#chunks.join('')}${this.#pieces.join('')}${rule(this.#columns.map((c) => c.width), '└', '┴', '┘')}`
  }
}
