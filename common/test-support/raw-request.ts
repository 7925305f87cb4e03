import { request, type IncomingHttpHeaders } from 'node:http'

/** An answer as {@link rawRequest} gives it. */
export interface RawAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/**
 * One HTTP request through `node:http` on a fresh connection, so a test can send what fetch will
 * not: any `Host` header, for one. With `withheldBody`, the request declares a body of that many
 * bytes and sends none: an answer then shows the server did not wait for the body.
 */
export function rawRequest(
  url: string,
  init: {
    method?: string
    headers?: Record<string, string>
    body?: string
    withheldBody?: number
  } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false })
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
    })
    if (init.withheldBody === undefined) {
      req.end(init.body)
    } else {
      req.setHeader('content-length', String(init.withheldBody))
      req.flushHeaders()
      req.on('response', (res) => res.on('end', () => req.destroy()))
    }
  })
}
