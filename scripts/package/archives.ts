// Release archives: `kubectl-snyk_watch_<version>_<os>_<arch>.tar.gz` (`.zip` for Windows) holding the
// executable, LICENSE and (tar.gz) kubectl_complete-snyk_watch, and `SHA256SUMS` over every release file. Reproducible: the same inputs give
// byte-identical archives (entries in a fixed order, one fixed mtime, owner 0:0 with no names, fixed
// modes, gzip/deflate at a fixed level with no timestamps of their own), so anyone can rebuild and compare.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {gzipSync} from 'node:zlib'
import tar from 'tar-stream'
import yazl from 'yazl'

export type ReleaseOs = 'linux' | 'darwin' | 'windows'
export type ReleaseArch = 'amd64' | 'arm64'

export interface ArchiveInput {
  os: ReleaseOs
  arch: ReleaseArch
  /** The executable built for this platform. */
  executable: string
}

export interface BuiltArchive {
  os: ReleaseOs
  arch: ReleaseArch
  /** The archive's file name (in `outDir`). */
  file: string
  path: string
  sha256: string
  /** The executable's path inside the archive: krew's `bin`. */
  bin: string
}

/** What kubectl (1.26+) runs on PATH to complete `kubectl snyk-watch ...`. */
export const completionScript = 'kubectl_complete-snyk_watch'

/** The executable's name as kubectl looks it up on PATH (`kubectl snyk-watch` -> `kubectl-snyk_watch`). */
export function executableName(os: ReleaseOs): string {
  return os === 'windows' ? 'kubectl-snyk_watch.exe' : 'kubectl-snyk_watch'
}

export function archiveName(version: string, os: ReleaseOs, arch: ReleaseArch): string {
  return `kubectl-snyk_watch_${version}_${os}_${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`
}

/**
 * The one timestamp every archive entry carries, in seconds: $SOURCE_DATE_EPOCH when set (the reproducible-builds
 * convention), else the time of the last commit that changed anything but plugin.yaml, else 0 outside a git
 * checkout. plugin.yaml is left out because it holds the archives' sums: committing it must not change them.
 */
export function sourceDateEpoch(root: string, env: NodeJS.ProcessEnv = process.env): number {
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) return Number(env.SOURCE_DATE_EPOCH)
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%ct', '--', '.', ':(exclude)plugin.yaml'], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
    if (/^\d+$/.test(out)) return Number(out)
  } catch {
    // not a git checkout, or no git
  }
  return 0
}

interface Entry {
  name: string
  data: Buffer
  mode: number
}

async function tarGz(entries: Entry[], mtime: Date): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve)
    pack.on('error', reject)
  })
  for (const entry of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({name: entry.name, mode: entry.mode, mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file'}, entry.data, (error) => (error ? reject(error) : resolve()))
    })
  }
  pack.finalize()
  await ended
  // Node's gzip header carries no file name and mtime 0.
  return gzipSync(Buffer.concat(chunks), {level: 9})
}

async function zip(entries: Entry[], mtime: Date): Promise<Buffer> {
  const archive = new yazl.ZipFile()
  // DOS timestamps are local time: a Date whose local fields are the UTC fields of `mtime` writes the same
  // bytes in every time zone (and no extended timestamp, which would differ).
  const local = new Date(mtime.getUTCFullYear(), mtime.getUTCMonth(), mtime.getUTCDate(), mtime.getUTCHours(), mtime.getUTCMinutes(), mtime.getUTCSeconds())
  for (const entry of entries) archive.addBuffer(entry.data, entry.name, {mtime: local, mode: entry.mode, compress: true, forceDosTimestamp: true})
  archive.end()
  const chunks: Buffer[] = []
  for await (const chunk of archive.outputStream as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** Writes one archive per input into `outDir`: the executable, the LICENSE at `root` and (not on Windows) the completion script. */
export async function buildArchives(o: {root: string; version: string; inputs: ArchiveInput[]; outDir: string; log?: (line: string) => void}): Promise<BuiltArchive[]> {
  // DOS time cannot go before 1980: an epoch of 0 (no git) is written as 1980-01-01 in zips.
  const epoch = sourceDateEpoch(o.root)
  const license = readFileSync(path.join(o.root, 'LICENSE'))
  const completion = readFileSync(path.join(o.root, 'bin', completionScript))
  const built: BuiltArchive[] = []
  for (const input of o.inputs) {
    const bin = executableName(input.os)
    const entries: Entry[] = [
      {name: bin, data: readFileSync(input.executable), mode: 0o755},
      {name: 'LICENSE', data: license, mode: 0o644},
      // kubectl's plugin completion (a shell script: not for Windows); krew links only `bin`, the caveats say how.
      ...(input.os === 'windows' ? [] : [{name: completionScript, data: completion, mode: 0o755}]),
    ]
    const file = archiveName(o.version, input.os, input.arch)
    const target = path.join(o.outDir, file)
    const data = input.os === 'windows' ? await zip(entries, new Date(Math.max(epoch * 1000, Date.UTC(1980, 0, 1)))) : await tarGz(entries, new Date(epoch * 1000))
    writeFileSync(target, data)
    const sha256 = createHash('sha256').update(data).digest('hex')
    o.log?.(`${file}: ${(data.length / 1024 / 1024).toFixed(1)} MiB, sha256 ${sha256}`)
    built.push({os: input.os, arch: input.arch, file, path: target, sha256, bin})
  }
  return built
}

/** Writes `SHA256SUMS` (as `sha256sum` prints it, sorted by file name) over `files` in `outDir`. */
export function writeSums(outDir: string, files: string[]): string {
  const lines = [...new Set(files)].sort().map((file) => `${sha256Of(path.join(outDir, file))}  ${file}`)
  const target = path.join(outDir, 'SHA256SUMS')
  writeFileSync(target, lines.join('\n') + '\n')
  return target
}
