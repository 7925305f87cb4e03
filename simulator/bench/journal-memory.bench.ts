import { serviceNamespace, startSimulator } from '../src/index.js'

/**
 * `npm run bench:journal-memory`: the simulator's memory with a full journal in memory (10,000
 * entries, the default journalLimit), to weigh what keeping each call's raw request and answer
 * bodies costs. Makes 10,000 SOAP calls (reads and writes over 10,000 fixture cards), then
 * collects garbage and prints RSS and heap, before the calls and after.
 */

const CALLS = 10_000
const CONCURRENCY = 16

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1)
}

function measure(): { rss: number; heap: number } {
  globalThis.gc?.()
  const usage = process.memoryUsage()
  return { rss: usage.rss, heap: usage.heapUsed }
}

async function main(): Promise<void> {
  if (globalThis.gc === undefined) {
    throw new Error('Run with node --expose-gc (npm run bench:journal-memory does).')
  }
  const sim = await startSimulator({
    users: { sms: 'sms' },
    fixtures: { size: CALLS, seed: 7 },
    journalLimit: CALLS,
  })
  const cards = sim.model.cardIds(0, CALLS).ids
  const products = sim.model.catalogue().map((product) => product.productId)
  const ns = serviceNamespace('subscription')
  const auth = `Basic ${Buffer.from('sms:sms').toString('base64')}`
  const envelope = (operation: string, inner: string): string =>
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><c:${operation} xmlns:c="${ns}"><${operation}Request>${inner}</${operation}Request></c:${operation}></s:Body></s:Envelope>`
  const body = (n: number): string => {
    const card = cards[n % cards.length] ?? ''
    return n % 2 === 0
      ? envelope(
          'AddSubscriptions',
          `<Subscriptions><Subscription><CaClientId>${card}</CaClientId><ProductId>${products[n % products.length] ?? ''}</ProductId></Subscription></Subscriptions>`,
        )
      : envelope('GetActiveSubscriptions', `<CaClientId>${card}</CaClientId>`)
  }
  const before = measure()
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        const n = next++
        const res = await fetch(sim.serviceUrl('subscription'), {
          method: 'POST',
          headers: { 'Content-Type': 'text/xml; charset=utf-8', Authorization: auth },
          body: body(n),
        })
        await res.text()
      }
    }),
  )
  const after = measure()
  const entries = sim.journal.size()
  const newest = await fetch(`${sim.url}/admin/journal?after=${sim.journal.lastSeq() - 1}`, {
    headers: { Authorization: `Bearer ${sim.adminToken}` },
  })
  const withXml = (await newest.text()).includes('"requestXml"')
  await sim.close()
  console.log(
    `journal entries in memory: ${entries} (raw bodies kept: ${withXml ? 'yes' : 'no'})\n` +
      `before the calls: RSS ${mb(before.rss)} MB, heap ${mb(before.heap)} MB\n` +
      `after ${CALLS} calls: RSS ${mb(after.rss)} MB, heap ${mb(after.heap)} MB ` +
      `(+${mb(after.rss - before.rss)} MB RSS, +${mb(after.heap - before.heap)} MB heap)`,
  )
}

await main()
