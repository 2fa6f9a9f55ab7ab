// The JSON log lines a `watch` process writes to stderr, parsed as they arrive (a line that is not JSON is kept as
// `{msg, notJson: true}`), for tests that follow real processes.
import type {Readable} from 'node:stream'

export interface JsonLog {
  readonly logs: Array<Record<string, unknown>>
  /** The lines whose `msg` matches `pattern`. */
  logged(pattern: RegExp): Array<Record<string, unknown>>
}

export function followJsonLog(stream: Readable): JsonLog {
  const logs: Array<Record<string, unknown>> = []
  let partial = ''
  stream.on('data', (chunk: Buffer) => {
    partial += chunk.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        logs.push({msg: line, notJson: true})
      }
    }
  })
  return {logs, logged: (pattern) => logs.filter((line) => pattern.test(String(line['msg'] ?? '')))}
}
