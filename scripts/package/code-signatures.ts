// Code signatures of the Node.js binaries an executable is made from. Injecting the blob changes the binary, so
// its vendor signature no longer holds:
// - Windows (Authenticode): removed before the injection. The executable is unsigned, as any binary built without
//   a certificate is (SmartScreen may ask once about a downloaded one).
// - macOS (Mach-O): macOS on Apple silicon runs no unsigned code, so the executable is signed again, ad hoc (no
//   identity; what `codesign --sign -` does), with rcodesign (crate apple-codesign), which signs Mach-O on Linux.
//   rcodesign is taken from $RCODESIGN, then from the cache, else built once with `cargo install` (about 5 min on
//   2 cores) into ~/.cache/kubectl-snyk-watch/rcodesign-<version>/.
import {existsSync} from 'node:fs'
import {mkdtemp, open, rm, truncate} from 'node:fs/promises'
import {homedir, tmpdir} from 'node:os'
import path from 'node:path'
import {runTool} from './run-tool.ts'

/** The apple-codesign release rcodesign is built from. */
export const rcodesignVersion = '0.29.0'

/**
 * Removes the Authenticode signature of a PE file in place: clears the certificate table's directory entry and
 * the checksum, and cuts the certificate table off the end of the file, where signing tools put it.
 * Returns false when the file was not signed.
 */
export async function removeAuthenticodeSignature(file: string): Promise<boolean> {
  const handle = await open(file, 'r+')
  try {
    const {size} = await handle.stat()
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, position)
      return buffer
    }
    const dos = await read(0, 64)
    if (dos.toString('latin1', 0, 2) !== 'MZ') throw new Error(`${file} is not a PE file (no MZ header)`)
    const peOffset = dos.readUInt32LE(0x3c)
    const header = await read(peOffset, 24 + 240)
    if (header.toString('latin1', 0, 4) !== 'PE\0\0') throw new Error(`${file} is not a PE file (no PE signature)`)
    const optional = 24
    const magic = header.readUInt16LE(optional)
    if (magic !== 0x10b && magic !== 0x20b) throw new Error(`${file}: unknown PE optional header magic 0x${magic.toString(16)}`)
    const directoryCount = header.readUInt32LE(optional + (magic === 0x20b ? 108 : 92))
    const certificateEntry = optional + (magic === 0x20b ? 112 : 96) + 4 * 8
    if (directoryCount <= 4) return false
    const tableOffset = header.readUInt32LE(certificateEntry)
    const tableSize = header.readUInt32LE(certificateEntry + 4)
    if (tableSize === 0) return false
    if (tableOffset + tableSize !== size) throw new Error(`${file}: the certificate table (${tableOffset}+${tableSize}) is not at the end of the file (${size} bytes)`)
    const cleared = Buffer.alloc(8)
    await handle.write(cleared, 0, 8, peOffset + certificateEntry)
    await handle.write(cleared, 0, 4, peOffset + optional + 64)
    await handle.close()
    await truncate(file, tableOffset)
    return true
  } finally {
    await handle.close().catch(() => undefined)
  }
}

function rcodesignCacheRoot(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'kubectl-snyk-watch', `rcodesign-${rcodesignVersion}`)
}

/** The path of rcodesign: $RCODESIGN, the cached build, or a build made now with cargo (crates.io). */
export async function ensureRcodesign(log: (line: string) => void = () => undefined): Promise<string> {
  if (process.env.RCODESIGN) return process.env.RCODESIGN
  const root = rcodesignCacheRoot()
  const binary = path.join(root, 'bin', 'rcodesign')
  if (existsSync(binary)) return binary
  log(`building rcodesign ${rcodesignVersion} (crate apple-codesign) with cargo, once: about 5 minutes`)
  const started = performance.now()
  const targetDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-rcodesign-'))
  try {
    let compiled = 0
    await runTool('cargo', ['install', 'apple-codesign', '--version', rcodesignVersion, '--locked', '--no-default-features', '--root', root, '--target-dir', targetDir], {
      onLine: (line) => {
        if (/^\s*Compiling /.test(line) && ++compiled % 100 === 0) log(`  rcodesign: ${compiled} crates compiled`)
      },
    })
  } catch (error) {
    throw new Error(`cannot build rcodesign, which signs the macOS executables: ${(error as Error).message}\nInstall Rust (cargo), or set RCODESIGN to an rcodesign binary, or build without signing (--no-sign-macos)`, {cause: error})
  } finally {
    await rm(targetDir, {recursive: true, force: true})
  }
  log(`rcodesign built in ${((performance.now() - started) / 1000).toFixed(0)} s: ${binary}`)
  return binary
}

/** Signs a Mach-O executable in place, ad hoc, under `identifier`; replaces any signature it has. */
export async function adHocSign(file: string, identifier: string, rcodesign: string): Promise<void> {
  await runTool(rcodesign, ['sign', '--binary-identifier', identifier, file])
  const info = await runTool(rcodesign, ['print-signature-info', file])
  if (!/flags: CodeSignatureFlags\(ADHOC\)/.test(info)) throw new Error(`${file}: rcodesign left no ad-hoc signature`)
}

