// A small certificate authority for a test cluster, made with the openssl command line: the serving
// certificate clients verify (127.0.0.1, localhost) and client certificates for users and groups.
import {execFile} from 'node:child_process'
import {generateKeyPairSync} from 'node:crypto'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'

const execFileAsync = promisify(execFile)

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, {cwd})
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new Error(`openssl ${args[0]} failed: ${detail}. The test bed needs the openssl command (Debian package openssl).`, {cause: error})
  }
}

export interface IssuedCertificate {
  certFile: string
  keyFile: string
  certPem: string
  keyPem: string
}

export class ClusterPki {
  readonly dir: string
  readonly caCertFile: string
  readonly caKeyFile: string
  readonly serviceAccountKeyFile: string
  caCertPem = ''
  private serial = 1

  constructor(dir: string) {
    this.dir = dir
    this.caCertFile = path.join(dir, 'ca.crt')
    this.caKeyFile = path.join(dir, 'ca.key')
    this.serviceAccountKeyFile = path.join(dir, 'service-account.key')
  }

  /** Creates the CA and the service-account signing key. */
  async init(clusterName: string): Promise<void> {
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', this.caKeyFile], this.dir)
    await openssl(
      ['req', '-x509', '-new', '-key', this.caKeyFile, '-sha256', '-days', '30', '-subj', `/CN=${clusterName}-ca`, '-out', this.caCertFile,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
      this.dir,
    )
    this.caCertPem = await readFile(this.caCertFile, 'utf8')
    const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
    await writeFile(this.serviceAccountKeyFile, privateKey.export({type: 'sec1', format: 'pem'}))
  }

  /** Issues a certificate signed by the CA. `organizations` become Kubernetes groups for client certificates. */
  async issue(name: string, options: {commonName: string; organizations?: string[]; server?: boolean}): Promise<IssuedCertificate> {
    const keyFile = path.join(this.dir, `${name}.key`)
    const csrFile = path.join(this.dir, `${name}.csr`)
    const certFile = path.join(this.dir, `${name}.crt`)
    const extFile = path.join(this.dir, `${name}.ext`)
    const subject = [...(options.organizations ?? []).map((o) => `/O=${o}`), `/CN=${options.commonName}`].join('')
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], this.dir)
    await openssl(['req', '-new', '-key', keyFile, '-subj', subject, '-out', csrFile], this.dir)
    const ext = options.server
      ? 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1\n'
      : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
    await writeFile(extFile, ext)
    await openssl(
      ['x509', '-req', '-in', csrFile, '-CA', this.caCertFile, '-CAkey', this.caKeyFile, '-set_serial', String(++this.serial), '-days', '30', '-sha256', '-extfile', extFile, '-out', certFile],
      this.dir,
    )
    return {certFile, keyFile, certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8')}
  }
}
