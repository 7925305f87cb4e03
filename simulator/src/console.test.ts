import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Simulator } from './create-simulator.js'
import {
  CARD_A,
  CARD_B,
  STB_1,
  adminApi,
  callSoap,
  startTestSimulator,
} from './test-support/soap.js'

// The console's files on the simulator: public and locked down by headers; the admin endpoints
// it reads (card search, a card's screen now) behind the token like the rest of /admin.

let sim: Simulator
beforeEach(async () => {
  sim = await startTestSimulator()
})
afterEach(async () => {
  await sim.close()
})

describe('console files', () => {
  it('serves the page, its scripts and preact without a token, with a CSP that allows no inline script', async () => {
    const page = await request(sim.url).get('/console/').expect(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline')
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.text).toContain('<script type="module" src="app.js"></script>')
    for (const path of [
      '/console/app.js',
      '/console/common/console.js',
      '/console/vendor/preact-htm.js',
    ]) {
      const script = await request(sim.url).get(path).expect(200)
      expect(script.headers['content-type'], path).toBe('text/javascript; charset=utf-8')
    }
    await request(sim.url)
      .get('/console/common/console.css')
      .expect('Content-Type', /text\/css/)
  })

  it('redirects /console to the page, answers 404 for other files and 405 for writes', async () => {
    const redirect = await request(sim.url).get('/console')
    expect([redirect.status, redirect.headers.location]).toEqual([308, '/console/'])
    for (const path of [
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/common/console-server.ts',
      '/console/vendor/../../package.json',
    ]) {
      expect((await request(sim.url).get(path)).status, path).toBe(404)
    }
    const write = await request(sim.url).post('/console/')
    expect([write.status, write.headers.allow]).toEqual([405, 'GET, HEAD'])
  })

  it('keeps the Host check on the console and the token on the admin API it calls', async () => {
    expect((await request(sim.url).get('/console/').set('Host', 'evil.example')).status).toBe(403)
    expect((await request(sim.url).get('/admin/cards')).status).toBe(401)
  })
})

describe('admin endpoints of the console', () => {
  it('searches card ids by a part of them, with paging and the count of matches', async () => {
    const found = await adminApi(sim).get('/admin/cards?contains=0145&limit=10').expect(200)
    expect(found.body).toEqual({ total: 1, ids: [CARD_A] })
    const page = await adminApi(sim).get('/admin/cards?contains=0&offset=1&limit=1').expect(200)
    expect(page.body).toEqual({ total: 4, ids: [CARD_B] })
    const none = await adminApi(sim).get('/admin/cards?contains=zzz').expect(200)
    expect(none.body).toEqual({ total: 0, ids: [] })
  })

  it('answers a pairing with its cards and STBs', async () => {
    const paired = await callSoap(sim, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
    })
    expect(paired.statusCode).toBe('OK')
    const stb = await adminApi(sim).get(`/admin/pairing-modules/${STB_1}`).expect(200)
    const pairing = await adminApi(sim).get(`/admin/pairings/${stb.body.pairingId}`).expect(200)
    expect(pairing.body).toMatchObject({ caClientIds: [CARD_A], pairingModuleIds: [STB_1] })
    const unknown = await adminApi(sim).get('/admin/pairings/P-nope')
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'NOT_FOUND'])
  })

  it("answers a card's screen now, following the simulator's clock", async () => {
    const sent = await callSoap(sim, 'user-text-messaging', 'SendBarkMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'Kick-off',
      DisplayDurationInSeconds: 30,
    })
    expect(sent.statusCode).toBe('OK')
    const now = await adminApi(sim).get(`/admin/cards/${CARD_A}/screen`).expect(200)
    expect(now.body.barks).toMatchObject([{ kind: 'BARK', message: 'Kick-off', show: 1 }])
    await adminApi(sim).post('/admin/clock').send({ advanceMs: 30_000 }).expect(200)
    const later = await adminApi(sim).get(`/admin/cards/${CARD_A}/screen`).expect(200)
    expect(later.body).toMatchObject({ barks: [], fingerprints: [], nextChangeAt: null })
    await adminApi(sim).get('/admin/cards/00000000000/screen').expect(404)
  })
})
