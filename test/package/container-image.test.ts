// The container image as a container runtime runs it: the one `npm run package` wrote to dist/release (the real
// linux single executables, scripts/package/image.ts), unpacked from the OCI layout by umoci, and run by bubblewrap on its own
// read-only root filesystem as the image's user, with a kubeconfig mounted in, against a real API server on the
// host's loopback (the sandbox shares the network namespace and nothing else). Needs Debian's skopeo, umoci and
// bubblewrap (CI installs them): fails, never skips, without them.
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {sha256Of} from '../../scripts/package/archives.ts'
import {buildImages, dockerArchiveName, IMAGE_EXECUTABLE, IMAGE_REPOSITORY} from '../../scripts/package/image.ts'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {releaseFile, root, version} from './release-layout.ts'

const execFileAsync = promisify(execFile)

const tools: Record<string, string> = {skopeo: 'skopeo', umoci: 'umoci', bwrap: 'bubblewrap', 'apt-get': 'apt', 'dpkg-deb': 'dpkg'}

function requireTools(): void {
  const dirs = (process.env.PATH ?? '').split(path.delimiter)
  const missing = Object.keys(tools).filter((tool) => !dirs.some((dir) => existsSync(path.join(dir, tool))))
  if (missing.length > 0) assert.fail(`${missing.join(', ')} not on PATH: apt-get install ${[...new Set(missing.map((tool) => tools[tool]))].join(' ')}`)
}

interface ImageConfig {
  architecture: string
  os: string
  config: {User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; Labels?: Record<string, string>}
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

describe('the container image', () => {
  let work: string
  let layout: string
  let rootfs: string
  let image: ImageConfig
  let set: ClusterSet | undefined
  let kubeconfig: string

  before(async () => {
    requireTools()
    work = await mkdtemp(path.join(tmpdir(), 'snyk-watch-image-'))
    layout = releaseFile('image')
    // What a runtime does with the image: unpack the amd64 image's layers in order, read its config.
    // What a runtime does with the image: pick the amd64 image of the index (skopeo, as a pull on amd64 would),
    // unpack its layers in order, read its config. umoci 0.4 (Debian's) cannot choose a platform itself.
    await execFileAsync('skopeo', ['--override-arch', 'amd64', 'copy', '-q', `oci:${layout}:${version}`, `oci:${path.join(work, 'amd64')}:${version}`])
    await execFileAsync('umoci', ['unpack', '--rootless', '--image', `${path.join(work, 'amd64')}:${version}`, path.join(work, 'bundle')])
    rootfs = path.join(work, 'bundle', 'rootfs')
    image = JSON.parse((await execFileAsync('skopeo', ['--override-arch', 'amd64', 'inspect', '--config', `oci:${layout}:${version}`])).stdout) as ImageConfig

    set = await startClusters(1, {names: ['image']})
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('shop')
    await fixture.createDeployment('shop', 'web', [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}], 2)
    await fixture.createPod({namespace: 'shop', name: 'api', containers: [{name: 'api', image: 'quay.io/acme/api:2.1', digest: digestOf('api')}]})
    kubeconfig = await writeKubeconfig(path.join(work, 'kubeconfig'), set.clusters.map((cluster) => ({cluster})))
  })
  after(async () => {
    await set?.stop()
    if (work) await rm(work, {recursive: true, force: true})
  })

  /**
   * Runs the image's entrypoint with `args` the way its config says (user, environment, working directory), on
   * the unpacked root mounted read-only, with a tmpfs on /tmp and the kubeconfig at the nonroot user's ~/.kube/config.
   */
  const runImage = (args: string[]): Promise<Run> => {
    const [uid, gid] = (image.config.User ?? '').split(':')
    const env = [...(image.config.Env ?? []), 'HOME=/home/nonroot'].flatMap((pair) => {
      const at = pair.indexOf('=')
      return ['--setenv', pair.slice(0, at), pair.slice(at + 1)]
    })
    const sandbox = [
      '--bind', rootfs, '/',
      '--proc', '/proc',
      '--dev', '/dev',
      '--tmpfs', '/tmp',
      '--ro-bind', kubeconfig, '/home/nonroot/.kube/config',
      '--remount-ro', '/',
      '--unshare-all', '--share-net', '--die-with-parent',
      '--uid', uid!, '--gid', gid!,
      '--clearenv', ...env,
      '--chdir', image.config.WorkingDir ?? '/',
    ]
    return new Promise((resolve, reject) => {
      const child = spawn('bwrap', [...sandbox, '--', ...(image.config.Entrypoint ?? []), ...args], {stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      child.once('error', reject)
      child.once('close', (code) => resolve({code, stdout, stderr}))
    })
  }

  it('is an OCI image index for amd64 and arm64 tagged with the version, and docker archives tagged with the reference the manifests use', async () => {
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {manifests: Array<{mediaType: string; digest: string; annotations?: Record<string, string>}>}
    assert.deepEqual(index.manifests.map((m) => [m.mediaType, m.annotations?.['org.opencontainers.image.ref.name']]), [['application/vnd.oci.image.index.v1+json', version]])
    const platforms = JSON.parse((await execFileAsync('skopeo', ['inspect', '--raw', `oci:${layout}:${version}`])).stdout) as {manifests: Array<{platform: {os: string; architecture: string}}>}
    assert.deepEqual(platforms.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`), ['linux/amd64', 'linux/arm64'])

    const sums = readFileSync(releaseFile('SHA256SUMS'), 'utf8')
    for (const platform of ['linux-amd64', 'linux-arm64'] as const) {
      const file = dockerArchiveName(version, platform)
      assert.ok(sums.includes(`${sha256Of(releaseFile(file))}  ${file}\n`), `SHA256SUMS lists ${file}`)
    }
    const archive = releaseFile(dockerArchiveName(version, 'linux-amd64'))
    const manifest = JSON.parse((await execFileAsync('tar', ['-xOf', archive, 'manifest.json'])).stdout) as Array<{RepoTags: string[]; Layers: string[]}>
    assert.deepEqual(manifest.map((m) => m.RepoTags), [[`${IMAGE_REPOSITORY}:${version}`]])
    assert.equal(manifest[0]!.Layers.length, 2, 'the base and the executable')
    assert.match(readFileSync(path.join(root, 'deploy', 'watch.yaml'), 'utf8'), new RegExp(`image: ${IMAGE_REPOSITORY}:${version.replaceAll('.', '\\.')}\\n`), 'the Deployment runs this image')
    const fromArchive = JSON.parse((await execFileAsync('skopeo', ['inspect', '--config', `docker-archive:${archive}`])).stdout) as ImageConfig
    assert.deepEqual(fromArchive.config, image.config, 'the docker archive is the same image')
  })

  it('runs the executable as 65532:65532, with OCI labels, and has no shell', () => {
    assert.equal(`${image.os}/${image.architecture}`, 'linux/amd64')
    assert.equal(image.config.User, '65532:65532')
    assert.deepEqual(image.config.Entrypoint, [IMAGE_EXECUTABLE])
    assert.equal(image.config.Cmd, undefined)
    assert.deepEqual(
      Object.fromEntries(['version', 'source', 'licenses'].map((label) => [label, image.config.Labels?.[`org.opencontainers.image.${label}`]])),
      {version, source: 'https://github.com/snyk-watch/kubectl-snyk-watch', licenses: 'Apache-2.0'},
    )
    const runtime = JSON.parse(readFileSync(path.join(work, 'bundle', 'config.json'), 'utf8')) as {process: {user: {uid: number; gid: number}; args: string[]}}
    assert.deepEqual(runtime.process.user, {uid: 65532, gid: 65532}, "umoci's runtime configuration runs it as nonroot")
    assert.deepEqual(runtime.process.args, [IMAGE_EXECUTABLE])

    assert.ok(statSync(path.join(rootfs, IMAGE_EXECUTABLE)).mode & 0o111, 'the entrypoint is executable')
    for (const shell of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'bin/dash', 'bin/busybox']) assert.ok(!existsSync(path.join(rootfs, shell)), `no /${shell}`)
    assert.deepEqual([...readdirSync(path.join(rootfs, 'usr/bin')), ...readdirSync(path.join(rootfs, 'usr/sbin'))], [], 'no programs but the entrypoint')
    assert.match(readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8'), /^nonroot:x:65532:65532:/m)
    assert.match(readFileSync(path.join(rootfs, 'etc/group'), 'utf8'), /^nonroot:x:65532:/m)
    assert.equal(statSync(path.join(rootfs, 'tmp')).mode & 0o7777, 0o1777)
    const certificates = readFileSync(path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8').match(/-----BEGIN CERTIFICATE-----/g) ?? []
    assert.ok(certificates.length > 100, `${certificates.length} CA certificates`)
    for (const library of ['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libm.so.6']) assert.ok(existsSync(path.join(rootfs, 'usr/lib/x86_64-linux-gnu', library)), library)
    assert.ok(existsSync(path.join(rootfs, 'var/lib/dpkg/status.d/libc6')), 'scanners find the Debian packages')
  })

  it('--version runs in the sandbox on its read-only root as the nonroot user', async () => {
    const run = await runImage(['--version'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, new RegExp(`^kubectl-snyk-watch/${version.replaceAll('.', '\\.')} linux-x64 node-v22\\.`))
    assert.equal(run.stderr, '', 'no warning, not even about the code cache it cannot write')
  })

  it('sync --dry-run lists the cluster through the mounted kubeconfig', async () => {
    const run = await runImage(['sync', '--dry-run', '--json', '--state', '/tmp/state.db'])
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stderr, '')
    const result = JSON.parse(run.stdout) as {dryRun: boolean; outcome: string; counts: {targets: number; pods: number; images: number}; images: Array<{image: string}>}
    assert.equal(result.dryRun, true)
    assert.equal(result.outcome, 'succeeded')
    assert.deepEqual({targets: result.counts.targets, pods: result.counts.pods, images: result.counts.images}, {targets: 1, pods: 3, images: 2})
    assert.deepEqual(result.images.map((entry) => entry.image).sort(), ['docker.io/library/nginx:1.27', 'quay.io/acme/api:2.1'])
  })

  it("is reproducible: building it again from the release's executables gives the same digests", async () => {
    const bin = (platform: string) => releaseFile(path.join('bin', platform, 'kubectl-snyk_watch'))
    const again = await buildImages({root, version, executables: {'linux-amd64': bin('linux-amd64'), 'linux-arm64': bin('linux-arm64')}, outDir: path.join(work, 'again')})
    const released = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {manifests: Array<{digest: string}>}
    assert.equal(again.index.digest, released.manifests[0]!.digest)
    for (const image of again.images) assert.equal(image.dockerArchive.sha256, sha256Of(releaseFile(image.dockerArchive.file)), image.dockerArchive.file)
  })
})
