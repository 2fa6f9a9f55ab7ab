// Runs `kubectl snyk-watch status ARGS` from the sources, the way bin/run.js runs the built command (oclif parses
// the flags, prints errors and sets the exit code), for tests that need the command in a child process of its own
// without a build.
import {handle} from '@oclif/core'
import Status from '../../src/commands/status.ts'

process.removeAllListeners('warning')
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return
  process.stderr.write(`${warning.name}: ${warning.message}\n`)
})

try {
  await Status.run(process.argv.slice(2), import.meta.url)
} catch (error) {
  await handle(error as Error)
}
