// The plugin as krew users get it: krew (built from its Go module) installs the linux-amd64 archive with the
// plugin.yaml into a temporary KREW_ROOT; the real kubectl then runs it from krew's bin with no
// Node.js on PATH, against a local cluster; krew uninstalls it. krew's own manifest validator checks plugin.yaml.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {ensureGoTool, krew, validateKrewManifest} from '../tools/go-tools.ts'
import {manifestSums} from '../../scripts/package/krew-manifest.ts'
import {releaseFile, root, version} from './release-layout.ts'

const run = promisify(execFile)

async function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stdout, stderr} = await run(file, args, {env, maxBuffer: 64 * 1024 * 1024})
    return {code: 0, stdout, stderr}
  } catch (error) {
    const failed = error as {code?: number; stdout?: string; stderr?: string}
    return {code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? ''}
  }
}

describe('krew', () => {
  let set: ClusterSet
  let work: string
  let env: NodeJS.ProcessEnv
  let kubectl: string
  let manifest: string
  const archive = `kubectl-snyk_watch_${version}_linux_amd64.tar.gz`

  before(async () => {
    const [krewBinary, cluster] = await Promise.all([ensureGoTool(krew, console.error), startClusters(1, {names: ['krew-a']})])
    set = cluster
    work = mkdtempSync(path.join(tmpdir(), 'snyk-watch-krew-'))
    // PATH holds kubectl, krew as its plugin, and krew's bin: no node, no shell tools.
    const tools = path.join(work, 'tools')
    mkdirSync(tools)
    symlinkSync(set.binaries.kubectl, path.join(tools, 'kubectl'))
    symlinkSync(krewBinary, path.join(tools, 'kubectl-krew'))
    kubectl = path.join(tools, 'kubectl')
    // The committed plugin.yaml, not the working one: `npm run package` (test:package's first step) rewrites the
    // file with the sums it built, so only HEAD's copy can disagree with them. Named after the plugin, as krew's
    // validator wants.
    manifest = path.join(work, 'snyk-watch.yaml')
    writeFileSync(manifest, (await run('git', ['show', 'HEAD:plugin.yaml'], {cwd: root})).stdout)
    const krewRoot = path.join(work, 'krew')
    // krew's index is a git clone of krew-index (GitHub, out of reach here); uninstall only needs one to exist, and
    // install --manifest does not read it: an empty local repository serves.
    mkdirSync(path.join(krewRoot, 'index', 'default'), {recursive: true})
    await run('git', ['init', '-q', path.join(krewRoot, 'index', 'default')])
    const kubeconfig = await writeKubeconfig(path.join(set.workDir, 'config'), set.clusters.map((c) => ({cluster: c})))
    env = {PATH: [path.join(krewRoot, 'bin'), tools].join(path.delimiter), HOME: work, KREW_ROOT: krewRoot, KUBECONFIG: kubeconfig, XDG_STATE_HOME: path.join(work, 'state')}
    await set.fixtures[0]!.createNamespace('shop')
    await set.fixtures[0]!.createDeployment('shop', 'web', [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}], 2, 'containerd')
  })
  after(async () => {
    await set?.stop()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it("the committed plugin.yaml passes krew's manifest validator and lists the sums of the archives this commit packs", async () => {
    const validator = await ensureGoTool(validateKrewManifest, console.error)
    // -skip-install: the validator would download each platform's uri.
    const result = await exec(validator, ['-manifest', manifest, '-skip-install'], {PATH: process.env.PATH})
    assert.equal(result.code, 0, result.stderr)
    const sums = new Map(readFileSync(releaseFile('SHA256SUMS'), 'utf8').trim().split('\n').map((line) => line.split(/\s+/).reverse() as [string, string]))
    const listed = manifestSums(manifest)
    assert.deepEqual([...listed.keys()].sort(), ['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64', 'windows/amd64'])
    for (const [platform, sha256] of listed) {
      const [os, arch] = platform.split('/')
      const file = `kubectl-snyk_watch_${version}_${os}_${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`
      assert.equal(sha256, sums.get(file), `plugin.yaml's sha256 for ${platform} is not ${file}'s: run npm run package and commit plugin.yaml`)
    }
  })

  it('installs the linux-amd64 archive, runs through kubectl with no Node on PATH, and uninstalls', async () => {
    assert.equal(existsSync(path.join(work, 'tools', 'node')), false)
    const install = await exec(kubectl, ['krew', 'install', `--manifest=${manifest}`, `--archive=${releaseFile(archive)}`], env)
    assert.equal(install.code, 0, install.stderr)
    assert.match(install.stderr, /Installed plugin: snyk-watch/)
    assert.match(install.stderr, /SNYK_TOKEN/)
    assert.deepEqual(readdirSync(path.join(env.KREW_ROOT!, 'bin')), ['kubectl-snyk_watch'])

    const listed = await exec(kubectl, ['krew', 'list'], env)
    assert.match(listed.stdout, /snyk-watch/)
    const versionRun = await exec(kubectl, ['snyk-watch', '--version'], env)
    assert.equal(versionRun.code, 0, versionRun.stderr)
    assert.match(versionRun.stdout, new RegExp(`kubectl-snyk-watch/${version.replaceAll('.', '\\.')}`))

    const dry = await exec(kubectl, ['snyk-watch', 'sync', '--dry-run', '--json'], env)
    assert.equal(dry.code, 0, dry.stderr)
    assert.doesNotMatch(dry.stderr, /ExperimentalWarning/)
    const result = JSON.parse(dry.stdout) as {dryRun: boolean; counts: {pods: number; wouldSubmit: number}; images: Array<{snykTarget?: string}>}
    assert.equal(result.dryRun, true)
    assert.equal(result.counts.pods, 2)
    assert.deepEqual(result.images.map((i) => i.snykTarget), ['library/nginx:1.27'])
    // Completion as the caveats say: the script from krew's store linked beside the plugin, answered by the executable.
    const [storeVersion] = readdirSync(path.join(env.KREW_ROOT!, 'store', 'snyk-watch'))
    const script = path.join(env.KREW_ROOT!, 'store', 'snyk-watch', storeVersion!, 'kubectl_complete-snyk_watch')
    symlinkSync(script, path.join(env.KREW_ROOT!, 'bin', 'kubectl_complete-snyk_watch'))
    const completed = await exec(kubectl, ['__complete', 'snyk-watch', 'status', '--fail-on', 'h'], env)
    assert.equal(completed.code, 0, completed.stderr)
    assert.deepEqual(completed.stdout.trimEnd().split('\n'), ['high', ':4'])
    rmSync(path.join(env.KREW_ROOT!, 'bin', 'kubectl_complete-snyk_watch'))
    // "Did you mean" from the single executable too (its own entry point, no commands folder on disk).
    const typo = await exec(kubectl, ['snyk-watch', 'snyc', '--dry-run'], env)
    assert.equal(typo.code, 2, typo.stderr)
    assert.match(typo.stderr, /unknown command "snyc" for "kubectl snyk-watch"/)
    assert.match(typo.stderr, /did you mean "sync"\?/)

    const uninstall = await exec(kubectl, ['krew', 'uninstall', 'snyk-watch'], env)
    assert.equal(uninstall.code, 0, uninstall.stderr)
    assert.deepEqual(readdirSync(path.join(env.KREW_ROOT!, 'bin')), [])
    const gone = await exec(kubectl, ['snyk-watch', '--version'], env)
    assert.notEqual(gone.code, 0)
  })
})
