#!/usr/bin/env node
// Entry point of `kubectl snyk-watch` (kubectl finds this file on PATH as kubectl-snyk_watch).
// The only place that ends the process: oclif's `handle` prints errors and exits with their code.

// node:sqlite is stable enough for us but prints an ExperimentalWarning on Node 22: keep it off the
// user's screen, and let every other warning through.
process.removeAllListeners('warning')
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return
  process.stderr.write(`${warning.name}: ${warning.message}\n`)
})

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
