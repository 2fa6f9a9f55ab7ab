// Entry point of the single executables (`npm run package`, scripts/package/sea.ts): esbuild bundles this file,
// oclif, every command and every dependency into one CommonJS script that Node.js runs from inside its own binary.
// The only place there that ends the process, as bin/run.js is for the npm install.
//
// In an executable there is no package.json, oclif.manifest.json or commands folder on disk, and `require` knows
// only Node's built-in modules. So the root plugin is made here from the package.json and the manifest that the
// bundle carries, and each command is a lazy import inside the bundle: `--help` and `--version` load no command,
// `status` loads only status, as from the npm install, where oclif reads the same manifest from disk.
import path from 'node:path'
import type {Command, Interfaces} from '@oclif/core'
import manifestJson from '../oclif.manifest.json' with {type: 'json'}
import pjsonJson from '../package.json' with {type: 'json'}
import {suggestCommand} from '../src/cli/command-not-found.ts'
import type {CompletionManifest} from '../src/cli/completion.ts'
import {hideSqliteExperimentalWarning} from '../src/cli/process-warnings.ts'
import {exitAtOnce} from '../src/cli/stop-signals.ts'

/** The commands, by id. The manifest says what each one is; its module is evaluated only when it runs. */
const commandModules: Record<string, () => Promise<{default: Command.Class}>> = {
  status: () => import('../src/commands/status.ts'),
  sync: () => import('../src/commands/sync.ts'),
  watch: () => import('../src/commands/watch.ts'),
}

async function main(): Promise<void> {
  hideSqliteExperimentalWarning()
  // Shell completion (kubectl_complete-snyk_watch runs `kubectl-snyk_watch __complete ARGS`): from the manifest alone.
  if (process.argv[2] === '__complete') await (await import('../src/cli/completion.ts')).runCompletion(manifestJson as unknown as CompletionManifest, process.argv.slice(3), process.env)
  // oclif checks its own Node.js range when it loads, by reading its package.json from disk: there is none here,
  // and the Node.js of an executable is the one it was built with.
  process.env.OCLIF_DISABLE_ENGINE_WARNING = 'true'
  const {flush, handle, Plugin, run} = await import('@oclif/core')
  delete process.env.OCLIF_DISABLE_ENGINE_WARNING

  const manifest = manifestJson as unknown as Interfaces.Manifest
  const pjson = {name: pjsonJson.name, version: pjsonJson.version, oclif: pjsonJson.oclif} as Interfaces.PJSON
  const missing = Object.keys(manifest.commands).filter((id) => !commandModules[id])
  if (missing.length > 0) throw new Error(`bin/single-executable.ts has no module for the command(s) ${missing.join(', ')}: add them to commandModules`)

  /** The root plugin, loaded from the bundle instead of from files. */
  class BundledPlugin extends Plugin {
    override async load(): Promise<void> {
      this.type = 'core'
      this.isRoot = true
      this.root = this.options.root
      this.pjson = pjson
      this.name = pjson.name
      this.alias = pjson.name
      this.version = pjson.version
      this.moduleType = 'module'
      this.valid = true
      this.hooks = {}
      this.manifest = manifest
      this.hasManifest = true
      this.commandIDs = Object.keys(manifest.commands)
      this.commands = Object.entries(manifest.commands)
        .map(([id, cached]) => ({...cached, load: async () => this.findCommand(id, {must: true}), pluginAlias: this.alias, pluginType: this.type}))
        .sort((a, b) => a.id.localeCompare(b.id))
    }

    override async findCommand(id: string, opts: {must: true}): Promise<Command.Class>
    override async findCommand(id: string, opts?: {must: boolean}): Promise<Command.Class | undefined>
    override async findCommand(id: string, opts: {must?: boolean} = {}): Promise<Command.Class | undefined> {
      const loadModule = commandModules[id]
      if (!loadModule) {
        if (opts.must) throw new Error(`command ${id} not found`)
        return undefined
      }
      const command = (await loadModule()).default
      command.id = id
      command.plugin = this
      return command
    }
  }

  const root = path.dirname(process.execPath)
  const plugin = new BundledPlugin({root, isRoot: true, pjson})
  await plugin.load()
  // oclif's execute(), with "did you mean" for a mistyped command.
  try {
    await run(process.argv.slice(2), {root, pjson, plugins: new Map([[plugin.name, plugin]])})
    await flush()
  } catch (error) {
    await handle(suggestCommand(error, Object.keys(manifest.commands)) as Error)
  }
  // A second Ctrl+C of `watch`: end now, with the code the command set, not when what it cut off lets go.
  if (exitAtOnce()) process.exit()
}

// A CommonJS script has no top-level await; a failure before oclif runs is printed by oclif's handler all the same.
main().catch(async (error: unknown) => (await import('@oclif/core')).handle(error as Error))
