// How table cells wrap: at word and path boundaries, as a person reads image references and sentences.
// A line may end before or after a space, and after a `/`, `-`, `.`, `:` or `@` (or a run of them) that
// stands between two other characters: `eu-|west-1`, `registry.|internal:|5000/|tools`, `https://|app`, but
// not `-|-integration`. A word (what lies between two such places) is broken only when it alone is longer
// than the width. Column widths are measured by the same rule (`longestWord`): a column as wide as its
// longest word breaks none. Widths count UTF-16 code units: image names, digests and namespaces are ASCII.

// What each character is, by its code: the column widths of 20,000 rows measure every cell, and a table
// lookup keeps that to a few milliseconds. Codes past ASCII are word characters.
const word = 0
const gap = 1
const separator = 2
const kinds = new Uint8Array(128)
for (const c of ' \n') kinds[c.charCodeAt(0)] = gap
for (const c of '/-.:@') kinds[c.charCodeAt(0)] = separator
/** `text[i]`'s kind; a gap before the start and past the end. */
const kindAt = (text: string, i: number): number => {
  const code = text.charCodeAt(i)
  return code !== code ? gap : code < 128 ? kinds[code]! : word
}

/** Whether a word ends before `text[i]`, a word character, after a run of separators that follows a word character. */
function endsAtSeparator(text: string, i: number): boolean {
  if (kindAt(text, i) !== word || kindAt(text, i - 1) !== separator) return false
  let j = i - 2
  while (kindAt(text, j) === separator) j--
  return kindAt(text, j) === word
}

/** The widest line of `text`. */
export function widestLine(text: string): number {
  if (!text.includes('\n')) return text.length
  let widest = 0
  for (const line of text.split('\n')) widest = Math.max(widest, line.length)
  return widest
}

/** The longest word of `text`: `wrapText` breaks none at this width or wider. */
export function longestWord(text: string): number {
  let longest = 0
  let start = 0
  let previous = gap
  /** Whether the run of separators that `previous` ends follows a word character. */
  let afterWord = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const kind = code < 128 ? kinds[code]! : word
    if (kind === gap) {
      if (i - start > longest) longest = i - start
      start = i + 1
    } else if (kind === word && previous === separator && afterWord) {
      if (i - start > longest) longest = i - start
      start = i
    } else if (kind === separator && previous !== separator) {
      afterWord = previous === word
    }
    previous = kind
  }
  return Math.max(longest, text.length - start)
}

/** The lines of `text` at most `width` wide: its own lines, each broken at the last place that fits. */
export function wrapText(text: string, width: number): string[] {
  if (text.length <= width && !text.includes('\n')) return [text]
  const lines: string[] = []
  for (const line of text.split('\n')) {
    const before = lines.length
    let from = 0
    while (line.length - from > width) {
      const limit = from + width
      // The last place at or before the width where the line may end (a space there hangs past the width
      // and is dropped). None: the word is longer than the width, and is broken at it.
      let end = limit
      for (let i = limit; i > from; i--) {
        if (line.charCodeAt(i) === 0x20 || line.charCodeAt(i - 1) === 0x20 || endsAtSeparator(line, i)) {
          end = i
          break
        }
      }
      const piece = line.slice(from, end).trimEnd()
      if (piece !== '') lines.push(piece)
      from = end
      while (line[from] === ' ') from++
    }
    // What is left fits. A line of nothing but spaces still takes its line.
    if (from < line.length) lines.push(line.slice(from))
    else if (lines.length === before) lines.push('')
  }
  return lines
}
