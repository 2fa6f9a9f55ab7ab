// Keeps track of the control-plane processes this test process started and makes sure none outlives it:
// stop() kills by PID, an 'exit' hook kills what is left, and a detached watchdog kills the children if
// this process dies without running its hooks (SIGKILL, a crashed test runner). Each one is written into
// the run's PID ledger, which `npm test` checks at the end.
import {spawn, type ChildProcess} from 'node:child_process'
import {openSync, closeSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {recordStarted} from './process-ledger.ts'

const running = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

const watchdogSource = `
const [parent, ...pids] = process.argv.slice(1).map(Number)
const alive = (pid) => { try { process.kill(pid, 0); return true } catch { return false } }
setInterval(() => {
  const living = pids.filter(alive)
  if (living.length === 0) process.exit(0)
  if (!alive(parent)) { for (const pid of living) { try { process.kill(pid, 'SIGKILL') } catch {} } process.exit(0) }
}, 500)
`

/** The last `lines` lines of a process's log file ('' when there is none), for error messages. */
export async function tailOf(file: string, lines = 25): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.split('\n').slice(-lines).join('\n')
}

/** Starts a long-running process with its output appended to logFile. */
export function startProcess(command: string, args: string[], logFile: string): ChildProcess {
  installExitHook()
  const log = openSync(logFile, 'a')
  const child = spawn(command, args, {stdio: ['ignore', log, log]})
  closeSync(log)
  running.add(child)
  child.once('exit', () => running.delete(child))
  if (child.pid !== undefined) {
    recordStarted(child.pid, command)
    const watchdog = spawn(process.execPath, ['-e', watchdogSource, String(process.pid), String(child.pid)], {detached: true, stdio: 'ignore'})
    watchdog.unref()
  }
  return child
}

/** Stops a process: SIGTERM, then SIGKILL after graceMs. Resolves once it has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
