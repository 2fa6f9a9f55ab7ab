// Which process warnings reach the user's screen. Installed first by both entry points, bin/run.js (the npm
// install) and bin/single-executable.ts (the executables), before anything can load node:sqlite.

/**
 * node:sqlite is stable enough for us but prints an ExperimentalWarning on Node 22: keep that one off the user's
 * screen, and print every other warning as Node does.
 */
export function hideSqliteExperimentalWarning(): void {
  process.removeAllListeners('warning')
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return
    process.stderr.write(`${warning.name}: ${warning.message}\n`)
  })
}
