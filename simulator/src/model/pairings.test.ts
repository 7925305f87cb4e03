import { describe, expect, it } from 'vitest'
import { CaModel } from './ca-model.js'
import type { PairingModuleRegistration } from './inventory.js'
import type { ModelRules, OperationContext } from './types.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  CARD_OTHER_SMS,
  CARD_UNKNOWN,
  STB_1,
  STB_2,
  STB_3,
  NOW,
  ctx,
  INVENTORY,
  aModel,
  codeOf,
  valueOf,
  pair,
  pairingOf,
} from './test-support/model-fixtures.js'

describe('CaModel pairing', () => {
  it('pairs cards with STBs and reports the pairing from either side', () => {
    const model = aModel()

    valueOf(
      model.createPairing(ctx, {
        caClientIds: [CARD_A, CARD_B],
        pairingModuleIds: [STB_1],
        distributor: 'TWIN1',
      }),
    )

    const expected = {
      paired: true,
      caClientIds: [CARD_A, CARD_B],
      pairingModules: [
        {
          pairingModuleId: STB_1,
          serialNumber: 'KA2611XB000001',
          productCode: 'KSTB5043',
          productDescription: 'Kaon KSTB5043 HD Conax Zapper',
        },
      ],
    }
    expect(valueOf(model.pairingStatusForCard(ctx, CARD_B))).toEqual(expected)
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1))).toEqual(expected)
    expect(pairingOf(model, CARD_A)?.distributor).toBe('TWIN1')
  })

  it("cancels the whole earlier pairing of a named device under pairingReplace 'whole'", () => {
    const model = aModel()
    pair(model, [CARD_A, CARD_B], [STB_1])

    pair(model, [CARD_A], [STB_2])

    expect(pairingOf(model, CARD_A)).toMatchObject({
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_2],
    })
    expect(pairingOf(model, CARD_B)).toBeNull()
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1)).paired).toBe(false)
    expect(model.stats().pairings).toBe(1)
  })

  it("takes only the named device out of its pairing under pairingReplace 'detach'", () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A, CARD_B], [STB_1])

    pair(model, [CARD_A], [STB_2])

    expect(pairingOf(model, CARD_A)).toMatchObject({
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_2],
    })
    expect(pairingOf(model, CARD_B)).toMatchObject({
      caClientIds: [CARD_B],
      pairingModuleIds: [STB_1],
    })
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1)).caClientIds).toEqual([CARD_B])
    expect(model.stats().pairings).toBe(2)
  })

  it('dissolves a pairing left without an STB after a detach', () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A, CARD_B], [STB_1])

    pair(model, [CARD_C], [STB_1])

    expect(pairingOf(model, CARD_A)).toBeNull()
    expect(pairingOf(model, CARD_B)).toBeNull()
    expect(pairingOf(model, CARD_C)).toMatchObject({
      caClientIds: [CARD_C],
      pairingModuleIds: [STB_1],
    })
    expect(model.stats().pairings).toBe(1)
  })

  it('dissolves a pairing left without a card after a detach', () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A], [STB_1, STB_2])

    pair(model, [CARD_A], [STB_3])

    expect(valueOf(model.pairingStatusForModule(ctx, STB_1)).paired).toBe(false)
    expect(valueOf(model.pairingStatusForModule(ctx, STB_2)).paired).toBe(false)
    expect(model.stats().pairings).toBe(1)
  })

  it.each<[string, string, string]>([
    ['an unknown STB', '42', 'PAIRING_MODULE_NOT_FOUND'],
    ['an STB id of 21 digits', '1'.repeat(21), 'INPUT_VALIDATION_ERROR'],
  ])('refuses a pairing with %s and keeps the earlier one', (_label, stb, code) => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])

    const outcome = model.createPairing(ctx, {
      caClientIds: [CARD_A],
      pairingModuleIds: [stb],
      distributor: null,
    })

    expect(codeOf(outcome)).toBe(code)
    expect(outcome.message).toContain(stb)
    expect(pairingOf(model, CARD_A)?.pairingModuleIds).toEqual([STB_1])
  })

  it('answers NOT_PAIRED when adding to a card that has no pairing', () => {
    const model = aModel()

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [CARD_B],
      pairingModuleIds: [],
    })

    expect(codeOf(outcome)).toBe('NOT_PAIRED')
    expect(outcome.message).toContain(CARD_A)
    expect(pairingOf(model, CARD_B)).toBeNull()
  })

  it('adds cards and STBs to the pairing of the paired card', () => {
    const model = aModel()
    const id = pair(model, [CARD_A], [STB_1])

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [CARD_B],
      pairingModuleIds: [STB_2],
    })

    expect(valueOf(outcome)).toBe(id)
    expect(pairingOf(model, CARD_B)).toMatchObject({
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1, STB_2],
    })
  })

  it('moves a device out of another pairing, dissolving that one when it is left without a card', () => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])
    pair(model, [CARD_B], [STB_2])

    valueOf(
      model.addToExistingPairing(ctx, {
        pairedCaClientId: CARD_A,
        caClientIds: [CARD_B],
        pairingModuleIds: [],
      }),
    )

    expect(pairingOf(model, CARD_A)?.caClientIds).toEqual([CARD_A, CARD_B])
    expect(valueOf(model.pairingStatusForModule(ctx, STB_2)).paired).toBe(false)
    expect(model.stats().pairings).toBe(1)
  })

  it('moves an STB out of another pairing that keeps its other members', () => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])
    pair(model, [CARD_B], [STB_2, STB_3])

    valueOf(
      model.addToExistingPairing(ctx, {
        pairedCaClientId: CARD_A,
        caClientIds: [],
        pairingModuleIds: [STB_3],
      }),
    )

    expect(pairingOf(model, CARD_A)?.pairingModuleIds).toEqual([STB_1, STB_3])
    expect(pairingOf(model, CARD_B)?.pairingModuleIds).toEqual([STB_2])
  })

  it('changes nothing when the devices added are already members', () => {
    const model = aModel()
    pair(model, [CARD_A, CARD_B], [STB_1])

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1],
    })

    expect(codeOf(outcome)).toBe('OK')
    expect(outcome.message).toContain('0 device(s)')
    expect(pairingOf(model, CARD_A)).toMatchObject({
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1],
    })
  })

  it('refuses AddToExistingPairing with nothing to add', () => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [],
      pairingModuleIds: [],
    })

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
  })

  it('answers not paired for a card and an STB without a pairing', () => {
    const model = aModel()
    const unpaired = { paired: false, caClientIds: [], pairingModules: [] }

    expect(valueOf(model.pairingStatusForCard(ctx, CARD_A))).toEqual(unpaired)
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1))).toEqual(unpaired)
  })

  it.each<[string, string]>([
    ['9', 'PAIRING_MODULE_NOT_FOUND'],
    ['12A', 'INPUT_VALIDATION_ERROR'],
    ['', 'INPUT_VALIDATION_ERROR'],
    ['1'.repeat(21), 'INPUT_VALIDATION_ERROR'],
  ])("answers pairing status for STB '%s' with %s", (stb, code) => {
    const model = aModel()

    expect(codeOf(model.pairingStatusForModule(ctx, stb))).toBe(code)
  })

  it.each<[string, string]>([
    ['0145025331', 'INPUT_VALIDATION_ERROR'],
    ['0145025331X', 'INPUT_VALIDATION_ERROR'],
    [CARD_UNKNOWN, 'CLIENT_NOT_FOUND'],
    [CARD_OTHER_SMS, 'CLIENT_NOT_MANAGED_BY_SMS'],
  ])("answers pairing status for card '%s' with %s", (card, code) => {
    const model = aModel()

    expect(codeOf(model.pairingStatusForCard(ctx, card))).toBe(code)
  })
})

describe('CaModel STB ownership', () => {
  const other: OperationContext = { user: 'other', now: NOW, transactionId: 'tx-2' }
  const OTHER_CARD_2 = '09999999998'

  function twoSmsModel(rules: Partial<ModelRules> = {}): CaModel {
    const model = aModel(rules)
    valueOf(model.registerInventory({ smartcards: [{ caClientId: OTHER_CARD_2, sms: 'other' }] }))
    return model
  }

  it('gives an unowned STB to the SMS user who pairs it first', () => {
    const model = aModel()

    pair(model, [CARD_A], [STB_1])

    expect(model.pairingModule(STB_1)?.sms).toBe('sms')
    expect(model.pairingModule(STB_2)?.sms).toBeNull()
  })

  it("refuses CreatePairing naming another SMS user's STB and leaves that user's pairing intact", () => {
    const model = twoSmsModel()
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_1],
        distributor: null,
      }),
    )
    const before = model.toSnapshot()

    const outcome = model.createPairing(ctx, {
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_1],
      distributor: null,
    })

    expect(codeOf(outcome)).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(outcome.message).toContain(STB_1)
    expect(model.toSnapshot()).toEqual(before)
    expect(pairingOf(model, CARD_OTHER_SMS)?.pairingModuleIds).toEqual([STB_1])
  })

  it("refuses AddToExistingPairing naming another SMS user's STB", () => {
    const model = twoSmsModel()
    pair(model, [CARD_A], [STB_1])
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_2],
        distributor: null,
      }),
    )
    const before = model.toSnapshot()

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [],
      pairingModuleIds: [STB_2],
    })

    expect(codeOf(outcome)).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(outcome.message).toContain(STB_2)
    expect(model.toSnapshot()).toEqual(before)
  })

  it("answers GetPairingStatusForPairingModule on another SMS user's STB with CLIENT_NOT_MANAGED_BY_SMS", () => {
    const model = twoSmsModel()
    pair(model, [CARD_A], [STB_1])

    expect(codeOf(model.pairingStatusForModule(other, STB_1))).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(valueOf(model.pairingStatusForModule(other, STB_2)).paired).toBe(false)
  })

  it('takes an owner from the inventory, and keeps it when the STB is registered again without one', () => {
    const model = aModel()
    const stb = { ...(INVENTORY.pairingModules?.[0] as PairingModuleRegistration), sms: 'other' }

    valueOf(model.registerInventory({ pairingModules: [stb] }))
    valueOf(model.registerInventory({ pairingModules: [{ ...stb, sms: undefined }] }))

    expect(model.pairingModule(STB_1)?.sms).toBe('other')
    expect(
      codeOf(
        model.createPairing(ctx, {
          caClientIds: [CARD_A],
          pairingModuleIds: [STB_1],
          distributor: null,
        }),
      ),
    ).toBe('CLIENT_NOT_MANAGED_BY_SMS')
  })

  it("records owners but does not check them under stbOwnership 'off'", () => {
    const model = twoSmsModel({ stbOwnership: 'off' })
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_1],
        distributor: null,
      }),
    )

    pair(model, [CARD_A], [STB_1])

    expect(pairingOf(model, CARD_OTHER_SMS)).toBeNull()
    expect(model.pairingModule(STB_1)?.sms).toBe('other')
  })

  it('derives the owner of an STB stored without one from the first card of its pairing', () => {
    const model = twoSmsModel()
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_1],
        distributor: null,
      }),
    )
    const snapshot = model.toSnapshot()
    const older = {
      ...snapshot,
      pairingModules: snapshot.pairingModules.map(({ sms: _sms, ...stb }) => stb),
    }
    const restored = new CaModel({ defaultSms: 'sms' })

    restored.loadSnapshot(older)

    expect(restored.pairingModule(STB_1)?.sms).toBe('other')
    expect(restored.pairingModule(STB_2)?.sms).toBeNull()
  })
})
