// Reading rendered tables back as a person does: the lines of the boxes, and a column's text line by line.

/** The lines of the boxes (borders and rows), without the summary lines under them. */
export const tableLines = (text: string): string[] => text.split('\n').filter((line) => /^[┌├│└]/.test(line))

/** Column `index` of every row line of the tables in `text`, trimmed; continuation lines included. */
export function columnLines(text: string, index: number): string[] {
  return tableLines(text)
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').slice(1, -1)[index]?.trim() ?? '')
}

/**
 * The consecutive lines of a column that spell `text` when put back together (a space between the lines,
 * except after a line that ended at a `/`, `-`, `.`, `:` or `@`); throws when no run of lines does.
 */
export function linesSpelling(lines: readonly string[], text: string): string[] {
  for (let first = 0; first < lines.length; first++) {
    let joined = ''
    for (let last = first; last < lines.length && lines[last] !== ''; last++) {
      joined = joined === '' ? lines[last]! : /[/\-.:@]$/.test(joined) ? joined + lines[last]! : `${joined} ${lines[last]!}`
      if (joined === text) return lines.slice(first, last + 1)
      if (!text.startsWith(joined)) break
    }
  }
  throw new Error(`no lines spell ${JSON.stringify(text)} in ${JSON.stringify(lines)}`)
}
