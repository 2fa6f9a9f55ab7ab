// Free loopback ports for the servers the tests start (kube-apiserver, etcd, PostgreSQL): each handed out once per process.
import {createServer} from 'node:net'

/** Ports this process has handed out: the kernel may offer a just-released port again. */
const handedOut = new Set<number>()

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await ephemeralPort()
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

async function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
