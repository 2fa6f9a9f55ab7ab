// Writes oclif.manifest.json after the build, as `oclif manifest` does: with it, oclif knows every
// command's flags and help without importing the command files, so `--help`, `--version` and `status`
// do not pay for loading sync's Kubernetes client at start-up.
import {writeFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {Plugin} from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
await plugin.load()
await writeFile(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(plugin.manifest, null, 2)}\n`)
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).join(', ')}`)
