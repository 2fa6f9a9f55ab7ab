// The PIDs the tests started, written down so that `npm test` checks, reports and stops those processes
// alone after the run: never every etcd or kube-apiserver on the machine (another test run's, a benchmark's
// or a developer's). scripts/test.ts names a fresh ledger file in $SNYK_WATCH_TEST_PID_LEDGER; every test
// process it runs inherits it and appends one line per process it starts: `pid start-time name`. The start
// time (from /proc/<pid>/stat) tells a process apart from a later one that reuses its PID.
import {appendFileSync, readFileSync} from 'node:fs'
import path from 'node:path'

export const LEDGER_ENV = 'SNYK_WATCH_TEST_PID_LEDGER'

export interface StartedProcess {
  readonly pid: number
  readonly name: string
}

/** The kernel's start time of a process (clock ticks since boot), or undefined when it is not running (or a zombie). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19]
  } catch {
    return undefined
  }
}

/** Writes a started process into the ledger named by $SNYK_WATCH_TEST_PID_LEDGER, if there is one. */
export function recordStarted(pid: number, command: string, ledger = process.env[LEDGER_ENV]): void {
  if (!ledger) return
  const started = processStartTime(pid)
  if (started !== undefined) appendFileSync(ledger, `${pid} ${started} ${path.basename(command)}\n`)
}

/** The processes of the ledger that are still running (the same process: same PID and start time). */
export function stillRunning(ledger: string): StartedProcess[] {
  let text: string
  try {
    text = readFileSync(ledger, 'utf8')
  } catch {
    return []
  }
  const running: StartedProcess[] = []
  for (const line of text.split('\n')) {
    const [pid, started, name] = line.split(' ')
    if (!pid || !started || !name) continue
    if (processStartTime(Number(pid)) === started) running.push({pid: Number(pid), name})
  }
  return running
}
