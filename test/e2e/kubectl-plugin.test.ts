// The built CLI, found by the real kubectl as a plugin on PATH, the way a user installs it.
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {ensureControlPlaneBinaries} from '../controlplane/binaries.ts'
import {kubectl} from '../helpers/kubectl.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('kubectl snyk-watch as a kubectl plugin', () => {
  let pathDir: string
  let env: NodeJS.ProcessEnv
  let kubectlBinary: string
  before(async () => {
    kubectlBinary = (await ensureControlPlaneBinaries()).kubectl
    pathDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-path-'))
    await symlink(path.join(root, 'bin', 'run.js'), path.join(pathDir, 'kubectl-snyk_watch'))
    // Node 22 from the project's devDependencies stands in for the user's node.
    env = {PATH: [pathDir, path.dirname(kubectlBinary), path.join(root, 'node_modules', '.bin'), process.env.PATH].join(path.delimiter)}
  })
  after(async () => {
    await rm(pathDir, {recursive: true, force: true})
  })

  it('is listed by kubectl plugin list', async () => {
    const result = await kubectl(kubectlBinary, ['plugin', 'list'], env)
    assert.match(result.stdout, /kubectl-snyk_watch/)
  })

  it('answers --version and --help through kubectl', async () => {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {version: string}
    const version = await kubectl(kubectlBinary, ['snyk-watch', '--version'], env)
    assert.equal(version.code, 0, version.stderr)
    assert.match(version.stdout, new RegExp(`kubectl-snyk-watch/${pkg.version.replaceAll('.', '\\.')}`))
    const help = await kubectl(kubectlBinary, ['snyk-watch', '--help'], env)
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /\$ kubectl snyk-watch/)
    assert.match(help.stdout, /watch\s+Keep every image running in your clusters monitored by Snyk/)
    const watchHelp = await kubectl(kubectlBinary, ['snyk-watch', 'watch', '--help'], env)
    assert.equal(watchHelp.code, 0, watchHelp.stderr)
    assert.match(watchHelp.stdout, /--leader-elect/)
    assert.match(watchHelp.stdout, /kill -HUP/)
  })

  it('watch: a user mistake is a clear error with a fix and exit 2, no stack trace', async () => {
    const run = await kubectl(kubectlBinary, ['snyk-watch', 'watch', '--org', 'o'], {...env, SNYK_TOKEN: ''})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /no Snyk API token/)
    assert.match(run.stderr, /SNYK_TOKEN/)
    assert.doesNotMatch(run.stderr, /\s+at .+\.(js|ts):\d+/)
  })
})
