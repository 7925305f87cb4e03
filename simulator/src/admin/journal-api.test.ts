import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Simulator, SimulatorOptions } from '../create-simulator.js'
import type { JournalEntry } from '../runtime/journal.js'
import {
  CARD_A,
  adminAuth,
  callSoap,
  requestEnvelope,
  startTestSimulator,
} from '../test-support/soap.js'

/**
 * The journal over the admin API: pages after a seq (from memory, and from the log of a durable
 * store for entries memory no longer holds), `lastSeq` on every answer, a clear refusal for
 * entries no longer kept, and the event stream for consoles.
 */

async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
  const started = await startTestSimulator(options)
  onTestFinished(() => started.close())
  return started
}

function dataFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-journal-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'sim.json')
}

/** `count` SOAP calls, one after the other: reads (GetActiveSubscriptions) and writes mixed. */
async function calls(target: Simulator, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    if (n % 3 === 0) {
      await callSoap(target, 'subscription', 'AddSubscriptions', {
        Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1' }] },
      })
    } else {
      await callSoap(target, 'subscription', 'GetActiveSubscriptions', { CaClientId: CARD_A })
    }
  }
}

async function journal(target: Simulator, query: string) {
  const res = await fetch(`${target.url}/admin/journal${query}`, { headers: adminAuth(target) })
  return {
    status: res.status,
    lastSeq: res.headers.get('x-journal-last-seq'),
    body: await res.json(),
  }
}

/** Every entry after `after`, page by page, as a client (verify --since) reads it. */
async function allAfter(target: Simulator, after: number, limit: number): Promise<number[]> {
  const seqs: number[] = []
  let from = after
  for (;;) {
    const page = await journal(target, `?after=${from}&limit=${limit}`)
    expect(page.status).toBe(200)
    const entries = page.body as JournalEntry[]
    seqs.push(...entries.map((e) => e.seq))
    if (entries.length < limit) {
      return seqs
    }
    from = entries.at(-1)?.seq ?? from
  }
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('GET /admin/journal', () => {
  it('pages after a seq, with lastSeq on every admin answer and in the stats', async () => {
    const target = await sim()
    await calls(target, 9)

    const page = await journal(target, '?after=2&limit=3')
    const stats = await fetch(`${target.url}/admin/stats`, { headers: adminAuth(target) })

    expect((page.body as JournalEntry[]).map((e) => e.seq)).toEqual([3, 4, 5])
    expect(page.lastSeq).toBe('9')
    expect(await allAfter(target, 0, 4)).toEqual(range(1, 9))
    expect(await stats.json()).toMatchObject({ lastSeq: 9, journalEntries: 9, journalDropped: 0 })
    expect(stats.headers.get('x-journal-last-seq')).toBe('9')
    // since is the older name of after.
    expect((await journal(target, '?since=7')).body).toHaveLength(2)
  })

  it('in memory, refuses (410) a page whose entries were dropped, and says from where to read on', async () => {
    const target = await sim({ journalLimit: 5 })
    await calls(target, 12)

    const dropped = await journal(target, '?after=0')
    const kept = target.journal.list().map((e) => e.seq)
    const oldest = kept[0] as number

    expect(dropped.status).toBe(410)
    expect(dropped.body).toMatchObject({
      error: {
        code: 'JOURNAL_ENTRIES_DROPPED',
        message: expect.stringContaining(
          `The journal entries from seq 1 to ${oldest - 1} are no longer kept`,
        ) as string,
        details: { from: 1, oldestKept: oldest, lastSeq: 12 },
      },
    })
    expect(await allAfter(target, oldest - 1, 2)).toEqual(kept)
    // Entries a reset forgot on purpose are no gap: after=0 reads what followed the reset.
    await fetch(`${target.url}/admin/reset`, {
      method: 'POST',
      headers: { ...adminAuth(target), 'content-type': 'application/json' },
      body: '{"keepInventory":true}',
    })
    await calls(target, 2)
    expect(await allAfter(target, 0, 10)).toEqual([13, 14])
  })

  it('with a log store, reads entries memory no longer holds from the log, across compactions', async () => {
    const file = dataFile()
    const target = await sim({ dataFile: file, journalLimit: 4 })
    await calls(target, 10)
    await target.compact()
    await calls(target, 10)
    await target.compact()
    await calls(target, 10)

    expect(target.journal.size()).toBeLessThan(10)
    expect(await allAfter(target, 0, 7)).toEqual(range(1, 30))
    expect(await allAfter(target, 13, 100)).toEqual(range(14, 30))
    const adds = await journal(target, '?after=0&operation=AddSubscriptions&limit=100')
    expect((adds.body as JournalEntry[]).map((e) => e.seq)).toEqual(
      range(1, 30).filter((seq) => ((seq - 1) % 10) % 3 === 0),
    )

    await target.close()
    const again = await sim({ dataFile: file, journalLimit: 4 })
    expect(await allAfter(again, 0, 9)).toEqual(range(1, 30))
  })

  it('with a log store, refuses (410) entries older than the retention kept', async () => {
    const target = await sim({ dataFile: dataFile(), journalLimit: 3, journalRetainBytes: 0 })
    await calls(target, 8)
    await target.compact()
    await calls(target, 2)
    await target.compact()
    await calls(target, 2)

    const gone = await journal(target, '?after=0')

    expect(gone.status).toBe(410)
    expect(gone.body).toMatchObject({
      error: {
        code: 'JOURNAL_ENTRIES_DROPPED',
        message: expect.stringContaining('--journal-retain'),
      },
    })
    const oldest = (gone.body as { error: { details: { oldestKept: number } } }).error.details
      .oldestKept
    expect(await allAfter(target, oldest - 1, 5)).toEqual(range(oldest, 12))
  })
})

/** A client of the event stream: the events it got, and a way to wait for more. */
async function follow(target: Simulator, query = '', headers: Record<string, string> = {}) {
  const controller = new AbortController()
  const res = await fetch(`${target.url}/admin/journal/stream${query}`, {
    headers: { ...adminAuth(target), ...headers },
    signal: controller.signal,
  })
  const events: { id: number; entry: JournalEntry }[] = []
  const comments: string[] = []
  const errors: unknown[] = []
  let ended = false
  const waiters: (() => void)[] = []
  const wake = (): void => waiters.splice(0).forEach((resolve) => resolve())
  /** One event block: its fields, or comment lines. */
  const take = (block: string): void => {
    const fields = Object.fromEntries(
      block
        .split('\n')
        .filter((line) => !line.startsWith(':') && line.includes(': '))
        .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
    ) as Record<string, string>
    comments.push(...block.split('\n').filter((line) => line.startsWith(':')))
    if (fields.event === 'error') {
      errors.push(JSON.parse(fields.data ?? 'null'))
    } else if (fields.data !== undefined) {
      events.push({ id: Number(fields.id), entry: JSON.parse(fields.data) as JournalEntry })
    }
  }
  void (async () => {
    let text = ''
    const decoder = new TextDecoder()
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true })
        for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
          take(text.slice(0, end))
          text = text.slice(end + 2)
        }
        wake()
      }
    } catch {
      // Aborted by the test.
    }
    ended = true
    wake()
  })()
  onTestFinished(() => controller.abort())
  const until = async (done: () => boolean): Promise<void> => {
    while (!done() && !ended) {
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return {
    res,
    events,
    comments,
    errors,
    ended: () => ended,
    until,
    close: () => controller.abort(),
  }
}

describe('GET /admin/journal/stream', () => {
  it('sends the entries after `after`, then each new one as it is stored, with its seq as id', async () => {
    const target = await sim({ dataFile: dataFile(), journalLimit: 3 })
    await calls(target, 6)
    const stream = await follow(target, '?after=2')
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')

    await stream.until(() => stream.events.length >= 4)
    await calls(target, 3)
    await stream.until(() => stream.events.length >= 7)

    expect(stream.events.map((e) => e.id)).toEqual(range(3, 9))
    expect(stream.events.map((e) => e.entry.seq)).toEqual(range(3, 9))
    expect(stream.events[0]?.entry.operation).toBe('GetActiveSubscriptions')
  })

  it('goes on from Last-Event-ID after a reconnect, filtered by operation', async () => {
    const target = await sim()
    await calls(target, 7)
    const stream = await follow(target, '?operation=AddSubscriptions', { 'Last-Event-ID': '1' })

    await stream.until(() => stream.events.length >= 2)
    await calls(target, 1)
    await stream.until(() => stream.events.length >= 3)

    expect(stream.events.map((e) => e.id)).toEqual([4, 7, 8])
  })

  it('refuses a client beyond the limit (503), keeps streams alive, ends them on close', async () => {
    const target = await sim({ journalStreamLimit: 1, journalStreamHeartbeatMs: 5 })
    const first = await follow(target)
    const second = await fetch(`${target.url}/admin/journal/stream`, { headers: adminAuth(target) })
    const unauthenticated = await fetch(`${target.url}/admin/journal/stream`)

    expect(second.status).toBe(503)
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe(
      'TOO_MANY_STREAMS',
    )
    expect(unauthenticated.status).toBe(401)
    await first.until(() => first.comments.includes(': keep-alive'))
    await target.close()
    await first.until(() => false)
    expect(first.ended()).toBe(true)
  })

  it('answers an error event when the entries asked for are no longer kept', async () => {
    const target = await sim({ journalLimit: 2 })
    await calls(target, 6)
    const stream = await follow(target, '?after=0')

    await stream.until(() => stream.ended())

    expect(stream.errors).toMatchObject([{ error: { code: 'JOURNAL_ENTRIES_DROPPED' } }])
    expect(stream.events).toEqual([])
  })
})

describe('raw bodies in the journal (requestXml, answerXml)', () => {
  /** Posts a raw body to the subscription service and answers the answer's text. */
  async function post(target: Simulator, body: string | Buffer): Promise<string> {
    const res = await fetch(target.serviceUrl('subscription'), {
      method: 'POST',
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
      },
      body,
    })
    return res.text()
  }

  type Viewed = JournalEntry & { requestXml?: string; answerXml?: string }

  it('keeps the exact request and answer bodies of entries in memory, in pages and the stream', async () => {
    const target = await sim({ dataFile: dataFile() })
    const read = requestEnvelope('subscription', 'GetActiveSubscriptions', { CaClientId: CARD_A })
    const readAnswer = await post(target, read)
    const write = requestEnvelope('subscription', 'AddSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1' }] },
    })
    const writeAnswer = await post(target, write)
    const stream = await follow(target, '?after=0')
    await stream.until(() => stream.events.length >= 2)

    const page = (await journal(target, '?after=0')).body as Viewed[]
    expect(page.map((e) => [e.requestXml, e.answerXml])).toEqual([
      [read, readAnswer],
      [write, writeAnswer],
    ])
    expect(readAnswer).toContain('TransactionStatus')
    const streamed = stream.events.map((e) => e.entry as Viewed)
    expect(streamed.map((e) => [e.requestXml, e.answerXml])).toEqual([
      [read, readAnswer],
      [write, writeAnswer],
    ])
  })

  it('cuts a body over 16 KiB with a marker and keeps bytes that are not UTF-8 as U+FFFD', async () => {
    const target = await sim()
    const head = Buffer.from('<?xml version="1.0"?><s:Envelope><!-- ')
    const filler = Buffer.alloc(40_000, 0xff)
    await post(target, Buffer.concat([head, filler, Buffer.from(' --></s:Envelope>')]))

    const res = await fetch(`${target.url}/admin/journal?after=0`, { headers: adminAuth(target) })
    const [entry] = JSON.parse(await res.text()) as Viewed[]

    const requestXml = entry?.requestXml ?? ''
    expect(requestXml.startsWith(head.toString())).toBe(true)
    expect(requestXml).toContain('\uFFFD')
    expect(requestXml).toMatch(/… \(\d+ more bytes cut\)$/)
    expect(requestXml.length).toBeLessThan(16 * 1024 + 40)
    expect(entry?.answerXml).toContain('Fault')
  })

  it('are absent from entries read back from the store after a restart', async () => {
    const file = dataFile()
    const target = await sim({ dataFile: file })
    await calls(target, 3)
    expect(((await journal(target, '?after=0')).body as Viewed[])[0]?.requestXml).toBeDefined()
    await target.compact()
    await calls(target, 1)
    await target.close()
    const dir = dirname(file)
    const stored = readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8'))
    expect(stored.join('')).toContain('GetActiveSubscriptions')
    expect(stored.join('')).not.toMatch(/requestXml|answerXml|Envelope/)

    const again = await sim({ dataFile: file })
    const entries = (await journal(again, '?after=0')).body as Viewed[]
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(entries.every((e) => e.requestXml === undefined && e.answerXml === undefined)).toBe(true)
  })

  it('keeps the bodies of the newest entries once older ones were dropped', async () => {
    const target = await sim({ journalLimit: 2 })
    await calls(target, 6)
    expect(target.journal.size()).toBeLessThan(6)
    const kept = (await journal(target, '?after=4')).body as Viewed[]
    expect(kept.map((e) => e.requestXml !== undefined)).toEqual([true, true])
  })
})
