// The live view of `status --watch`. On a terminal (table or wide): a full-screen frame in the alternate screen,
// redrawn in place (cursor home, each line then clear-to-end-of-line, then clear below, in one write) and only
// when what it shows changed, so it never flickers; the cursor is hidden meanwhile and given back on stop.
// Anywhere else, and for -o json|yaml, a stream: a new table (after a blank line), a JSON document per line,
// or a YAML document after `---`, each time the status changed.
import type {StatusResult} from '../status/status-result.ts'
import {renderStatus} from './status-table.ts'

export type LiveFormat = 'table' | 'wide' | 'json' | 'yaml'

/** What the view writes to: process.stdout, or a fake in tests. */
export interface LiveOutput {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
  rows?: number
  on?(event: 'resize', listener: () => void): unknown
  off?(event: 'resize', listener: () => void): unknown
}

export interface LiveViewOptions {
  format: LiveFormat
  /** Shown in the frame's first line. */
  intervalMs: number
  /** For -o yaml (the yaml package, loaded by the caller only then). */
  stringifyYaml?: (value: unknown) => string
  /** Default: the current time. */
  now?: () => Date
}

const esc = '\u001b['
const enterScreen = `${esc}?1049h${esc}?25l${esc}H${esc}2J`
const leaveScreen = `${esc}?25h${esc}?1049l`

/** Table lines are cut at the width (the table already fits unless the terminal is narrower than 40 columns); other lines wrap. */
function fitWidth(lines: readonly string[], columns: number): string[] {
  const fitted: string[] = []
  for (const line of lines) {
    if (line.length <= columns) fitted.push(line)
    else if (/^[┌├│└]/.test(line)) fitted.push(line.slice(0, columns))
    else for (let at = 0; at < line.length; at += columns) fitted.push(line.slice(at, at + columns))
  }
  return fitted
}

/**
 * The lines of one screen: the header, then the status. When it is taller than the screen, the table is cut and
 * what follows it (summary, drift, gate: at most a third of the screen) stays at the bottom.
 */
export function screenLines(header: string, text: string, columns: number, rows: number): string[] {
  const lines = fitWidth([header, ...text.replace(/\n$/, '').split('\n')], columns)
  if (lines.length <= rows) return lines
  const tableEnd = lines.findLastIndex((line) => line.startsWith('└'))
  const after = tableEnd < 0 ? [] : lines.slice(tableEnd + 1)
  const footer = after.slice(0, Math.floor(rows / 3))
  const room = Math.max(1, rows - footer.length - 1)
  const hidden = lines.length - after.length - room
  return [...lines.slice(0, room), `… ${hidden} more line${hidden === 1 ? '' : 's'}: narrow with --image, -n, --context or --result, or enlarge the window`.slice(0, columns), ...footer]
}

/** One write that redraws the screen in place: home, each line then clear to its end, then clear below. */
export function frameText(lines: readonly string[]): string {
  return `${esc}H${lines.map((line) => `${line}${esc}K`).join('\n')}${esc}J`
}

const clock = (date: Date): string => date.toTimeString().slice(0, 8)

export class StatusLiveView {
  readonly #out: LiveOutput
  readonly #options: LiveViewOptions
  readonly #screen: boolean
  readonly #onResize = (): void => {
    this.#resized = true
  }
  #resized = false
  #started = false
  #last: StatusResult | undefined
  /** What the last result looked like, to tell a change (the generation time left out). */
  #lastContent: string | undefined
  #changedAt: Date | undefined
  #lastFrame: string | undefined
  #frames = 0

  constructor(out: LiveOutput, options: LiveViewOptions) {
    this.#out = out
    this.#options = options
    this.#screen = out.isTTY === true && (options.format === 'table' || options.format === 'wide')
    if (options.format === 'yaml' && options.stringifyYaml === undefined) throw new TypeError('the yaml format needs stringifyYaml')
  }

  get resized(): boolean {
    return this.#resized
  }

  /** Takes the terminal (alternate screen, cursor hidden). */
  start(): void {
    if (this.#started) return
    this.#started = true
    if (!this.#screen) return
    this.#out.on?.('resize', this.#onResize)
    this.#out.write(enterScreen)
  }

  /** Gives the terminal back as it was. Idempotent. */
  stop(): void {
    if (!this.#started) return
    this.#started = false
    if (!this.#screen) return
    this.#out.off?.('resize', this.#onResize)
    this.#out.write(leaveScreen)
  }

  show(result: StatusResult): void {
    const content = this.#content(result)
    if (content === this.#lastContent) return
    this.#last = result
    this.#lastContent = content
    this.#changedAt = this.#options.now?.() ?? new Date()
    if (this.#screen) {
      this.#draw()
      return
    }
    const {format} = this.#options
    if (format === 'json') this.#out.write(`${JSON.stringify(result)}\n`)
    else if (format === 'yaml') this.#out.write(`---\n${this.#options.stringifyYaml!(result)}`)
    else this.#out.write(`${this.#frames > 0 ? '\n' : ''}${content}`)
    this.#frames++
  }

  /** Draws the last result again, at the terminal's current size. */
  redraw(): void {
    this.#resized = false
    if (this.#screen && this.#last !== undefined) {
      this.#lastContent = this.#content(this.#last)
      this.#draw()
    }
  }

  #width(): number {
    return this.#screen ? (this.#out.columns ?? 80) : 160
  }

  #content(result: StatusResult): string {
    const {format} = this.#options
    if (format === 'table' || format === 'wide') return renderStatus(result, this.#width(), format === 'wide')
    const timeless = {...result, generatedAt: ''}
    return format === 'json' ? JSON.stringify(timeless) : this.#options.stringifyYaml!(timeless)
  }

  #draw(): void {
    const columns = this.#out.columns ?? 80
    const rows = this.#out.rows ?? 24
    const seconds = this.#options.intervalMs / 1000
    const header = `kubectl snyk-watch status --watch: every ${seconds}s, changed ${clock(this.#changedAt ?? new Date())} (Ctrl+C to quit)`
    const frame = frameText(screenLines(header, this.#lastContent ?? '', columns, rows))
    if (frame === this.#lastFrame) return
    this.#lastFrame = frame
    this.#out.write(frame)
  }
}
