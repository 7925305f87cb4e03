"""Calls all 13 operations of a running simulator with zeep, a WSDL-driven Python SOAP client.

Usage: python3 zeep_roundtrip.py <base-url> <card-a> <card-b> <stb-1> <stb-2>
Prints one JSON object: operation name -> {status, ...payload facts}. Used by interop.test.ts.
"""
import json
import sys

from requests import Session
from requests.auth import HTTPBasicAuth
from zeep import Client
from zeep.transports import Transport

base, card_a, card_b, stb_1, stb_2 = sys.argv[1:6]
session = Session()
session.auth = HTTPBasicAuth("sms", "sms")
transport = Transport(session=session)


def client(service):
    return Client(f"{base}/ca-server/webservices/caclient/{service}?wsdl", transport=transport)


def status(result):
    # zeep unwraps a response element with a single child (TransactionStatus) to that child.
    block = result["TransactionStatus"] if "TransactionStatus" in result else result
    return block["StatusCode"]


out = {}
sub = client("subscription").service
out["AddSubscriptions"] = status(sub.AddSubscriptions(AddSubscriptionsRequest={
    "Subscriptions": {"Subscription": [
        {"CaClientId": card_a, "ProductId": "GFA1", "Distributor": "Main"},
        {"CaClientId": card_a, "ProductId": "EFA2", "Distributor": "Main"},
    ]},
    "SequenceNumber": 1,
}))
out["CancelSubscriptions"] = status(sub.CancelSubscriptions(CancelSubscriptionsRequest={
    "Subscriptions": {"Subscription": [{"CaClientId": card_a, "ProductId": "EFA2"}]},
}))
active = sub.GetActiveSubscriptions(GetActiveSubscriptionsRequest={"CaClientId": card_a})
out["GetActiveSubscriptions"] = status(active)
out["activeProducts"] = [s["ProductId"] for s in active["Subscriptions"]["Subscription"]]

pair = client("pairing").service
out["CreatePairing"] = status(pair.CreatePairing(CreatePairingRequest={
    "CaClientIds": {"CaClientId": [card_a]}, "PairingModuleIds": {"PairingModuleId": [stb_1]},
}))
out["AddToExistingPairing"] = status(pair.AddToExistingPairing(AddToExistingPairingRequest={
    "PairedCaClientId": card_a, "CaClientIds": {"CaClientId": [card_b]},
    "PairingModuleIds": {"PairingModuleId": [stb_2]},
}))
card_status = pair.GetPairingStatusForCard(GetPairingStatusForCardRequest={"CaClientId": card_b})
out["GetPairingStatusForCard"] = status(card_status)
out["pairedCards"] = list(card_status["CaClientIds"]["CaClientId"])
module_status = pair.GetPairingStatusForPairingModule(GetPairingStatusForPairingModuleRequest={"PairingModuleId": stb_2})
out["GetPairingStatusForPairingModule"] = status(module_status)
out["serialNumbers"] = [m["SerialNumber"] for m in module_status["PairingModules"]["PairingModule"]]

msg = client("user-text-messaging").service
out["SendMailMessageToClients"] = status(msg.SendMailMessageToClients(SendMailMessageToClientsRequest={
    "CaClientIds": {"CaClientId": [card_a]}, "Message": "Grüße aus Zürich",
}))
out["SendBarkMessageToClients"] = status(msg.SendBarkMessageToClients(SendBarkMessageToClientsRequest={
    "CaClientIds": {"CaClientId": [card_a]}, "Message": "Welcome", "DisplayDurationInSeconds": 10,
}))
out["SendRepeatingBarkMessageToClients"] = status(msg.SendRepeatingBarkMessageToClients(SendRepeatingBarkMessageToClientsRequest={
    "CaClientIds": {"CaClientId": [card_a]}, "Message": "Renew", "RepetitionCount": 2,
    "RepetitionIntervalInSeconds": 30,
}))
out["DisplayFingerprint"] = status(client("fingerprint").service.DisplayFingerprint(DisplayFingerprintRequest={
    "CaClientIds": {"CaClientId": [card_a]}, "Height": 14, "Slot": "A",
}))
pin = client("ca-pin").service
out["UpdateCaPinToGivenValue"] = status(pin.UpdateCaPinToGivenValue(UpdateCaPinToGivenValueRequest={"CaClientId": card_a, "Pin": "4321"}))
out["UpdateCaPinToDefaultValue"] = status(pin.UpdateCaPinToDefaultValue(UpdateCaPinToDefaultValueRequest={"CaClientId": card_b}))
unknown = pin.UpdateCaPinToDefaultValue(UpdateCaPinToDefaultValueRequest={"CaClientId": "01234567890"})
out["unknownCard"] = status(unknown)
print(json.dumps(out))
