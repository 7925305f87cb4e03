import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { httpServerOptions } from '../../common/http-server.js'
import { SIMULATOR_HTTP_DEFAULTS } from '../src/create-simulator.js'
import { readMemory, sendLine, serveCommands } from './child-protocol.js'
import { CANNED_ADD_SUBSCRIPTIONS_RESPONSE } from './workloads.js'

/**
 * Benchmark child: a bare `node:http` server that reads every request body to its end and answers
 * the canned SOAP response with status 200 (no auth, no parsing, no state). Prints a `ready` line,
 * then serves the commands of child-protocol.ts.
 */
async function main(): Promise<void> {
  const body = Buffer.from(CANNED_ADD_SUBSCRIPTIONS_RESPONSE, 'utf8')
  // The same timeouts as the simulator's server (without its guard and connection cap).
  const server = createServer(httpServerOptions(SIMULATOR_HTTP_DEFAULTS), (req, res) => {
    req.on('data', () => undefined)
    req.on('end', () => {
      res.writeHead(200, {
        'Content-Type': 'text/xml; charset=utf-8',
        'Content-Length': body.length,
      })
      res.end(body)
    })
  })
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server.address() as AddressInfo))
  })
  sendLine({
    type: 'ready',
    url: `http://127.0.0.1:${address.port}`,
    pid: process.pid,
    afterLoad: readMemory(),
  })
  serveCommands(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
}

main().catch((error: unknown) => {
  console.error('bare-server failed:', error)
  process.exit(1)
})
