// The graceful-then-hard stop of `sync` and `watch`: the first SIGINT or SIGTERM asks for a graceful stop, a second
// one for a hard stop. Commands only stop their work and return an exit code; ending the process is the entry
// point's (bin/run.js, bin/single-executable.ts). A command whose hard stop leaves work behind that may still hold
// timers or sockets (watch's cut-off imports) asks the entry point to end the process as soon as it returns.

let atOnce = false

export interface StopHandlers {
  graceful(signal: string): void
  hard(signal: string): void
}

/** Calls `graceful` on the first SIGINT/SIGTERM and `hard` on the next; returns the function that stops listening. */
export function onStopSignals(signals: NodeJS.EventEmitter, handlers: StopHandlers): () => void {
  let count = 0
  const listener = (signal: string) => {
    count++
    if (count === 1) {
      handlers.graceful(signal)
      return
    }
    handlers.hard(signal)
  }
  signals.on('SIGINT', listener)
  signals.on('SIGTERM', listener)
  return () => {
    signals.off('SIGINT', listener)
    signals.off('SIGTERM', listener)
  }
}

/** Asks the entry point to end the process as soon as the command returns, without waiting for what still runs. */
export function requestExitAtOnce(): void {
  atOnce = true
}

/** Whether a command asked to end the process as soon as it returns. */
export function exitAtOnce(): boolean {
  return atOnce
}
