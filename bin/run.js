#!/usr/bin/env node
// Entry point of `kubectl snyk-watch` (kubectl finds this file on PATH as kubectl-snyk_watch).
// The only place that ends the process: oclif's `handle` prints errors and exits with their code.

// node:sqlite's ExperimentalWarning stays off the user's screen; every other warning gets through.
import {hideSqliteExperimentalWarning} from '../dist/cli/process-warnings.js'

hideSqliteExperimentalWarning()

// Shell completion (kubectl_complete-snyk_watch runs `kubectl-snyk_watch __complete ARGS`): answered from oclif's
// manifest, without loading oclif or a command.
if (process.argv[2] === '__complete') {
  const [{runCompletion}, {readFile}] = await Promise.all([import('../dist/cli/completion.js'), import('node:fs/promises')])
  await runCompletion(JSON.parse(await readFile(new URL('../oclif.manifest.json', import.meta.url), 'utf8')), process.argv.slice(3), process.env)
}

// V8's code cache on disk (Node.js 22.1+; in the OS temp directory, NODE_DISABLE_COMPILE_CACHE=1 turns it off):
// later runs skip compiling oclif and our modules, a good part of the start-up of a short command.
const {enableCompileCache} = await import('node:module')
enableCompileCache?.()

// oclif checks its own Node.js range with semver when it loads (about 10 ms of every start); ours, in package.json,
// is narrower, and the state store says clearly when the runtime lacks node:sqlite. Skip it, without leaking the
// setting to child processes.
const engineWarning = process.env.OCLIF_DISABLE_ENGINE_WARNING
process.env.OCLIF_DISABLE_ENGINE_WARNING = 'true'
const {flush, handle, run} = await import('@oclif/core')
if (engineWarning === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineWarning

// oclif's execute(), with "did you mean" for a mistyped command (the manifest is read only then, as in the executable).
try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (error) {
  const [{readFile}, {suggestCommand}] = await Promise.all([import('node:fs/promises'), import('../dist/cli/command-not-found.js')])
  const manifest = JSON.parse(await readFile(new URL('../oclif.manifest.json', import.meta.url), 'utf8'))
  await handle(suggestCommand(error, Object.keys(manifest.commands)))
}

// A second Ctrl+C of `watch`: end now, with the code the command set, not when what it cut off lets go.
const {exitAtOnce} = await import('../dist/cli/stop-signals.js')
if (exitAtOnce()) process.exit()
