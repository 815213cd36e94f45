import assert from "node:assert/strict";
import { test } from "node:test";

import {
  base64urlToBuffer,
  bufferToBase64url,
  creationOptionsFromJSON,
  credentialToJSON,
  requestOptionsFromJSON,
} from "../../../tessera/static/tessera/js/accounts/webauthn.js";

const bytes = (...values) => new Uint8Array(values).buffer;

test("base64url round-trips bytes that need the URL-safe alphabet, without padding", () => {
  const buffer = bytes(0xfb, 0xff, 0xbf, 0x00, 0x01);
  assert.equal(bufferToBase64url(buffer), "-_-_AAE");
  assert.deepEqual(new Uint8Array(base64urlToBuffer("-_-_AAE")), new Uint8Array(buffer));
});

const creation = {
  publicKey: {
    rp: { id: "localhost", name: "Tessera" },
    user: { id: "MQ", name: "ada@example.org", displayName: "Ada" },
    challenge: "AAEC",
    pubKeyCredParams: [{ type: "public-key", alg: -7 }],
    excludeCredentials: [{ type: "public-key", id: "BAUG" }],
    authenticatorSelection: { residentKey: "discouraged", userVerification: "preferred" },
  },
};

test("creation options turn ids and challenge into bytes and leave the JSON untouched", () => {
  const { publicKey } = creationOptionsFromJSON(creation);
  assert.deepEqual(new Uint8Array(publicKey.challenge), new Uint8Array([0, 1, 2]));
  assert.deepEqual(new Uint8Array(publicKey.user.id), new Uint8Array([0x31]));
  assert.deepEqual(new Uint8Array(publicKey.excludeCredentials[0].id), new Uint8Array([4, 5, 6]));
  assert.equal(creation.publicKey.challenge, "AAEC");
  assert.equal(publicKey.authenticatorSelection.residentKey, "discouraged");
});

test("a passkey must be resident and verify the person", () => {
  const { publicKey } = creationOptionsFromJSON(creation, true);
  assert.equal(publicKey.authenticatorSelection.residentKey, "required");
  assert.equal(publicKey.authenticatorSelection.requireResidentKey, true);
  assert.equal(publicKey.authenticatorSelection.userVerification, "required");
  assert.equal(creationOptionsFromJSON(creation, false).publicKey.authenticatorSelection.residentKey, "discouraged");
});

test("request options decode the allowed credentials", () => {
  const request = requestOptionsFromJSON({ publicKey: { challenge: "AAEC", allowCredentials: [{ type: "public-key", id: "BAUG" }] } });
  assert.deepEqual(new Uint8Array(request.publicKey.allowCredentials[0].id), new Uint8Array([4, 5, 6]));
  assert.deepEqual(requestOptionsFromJSON({ publicKey: { challenge: "AAEC" } }).publicKey.allowCredentials, []);
});

test("credentials are serialised the way allauth parses them", () => {
  const registration = credentialToJSON({
    id: "BAUG",
    rawId: bytes(4, 5, 6),
    type: "public-key",
    authenticatorAttachment: "platform",
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
    response: { clientDataJSON: bytes(1), attestationObject: bytes(2), getTransports: () => ["internal"] },
  });
  assert.deepEqual(registration, {
    id: "BAUG",
    rawId: "BAUG",
    type: "public-key",
    authenticatorAttachment: "platform",
    clientExtensionResults: { credProps: { rk: true } },
    response: { clientDataJSON: "AQ", attestationObject: "Ag", transports: ["internal"] },
  });
  const assertion = credentialToJSON({
    id: "BAUG",
    rawId: bytes(4, 5, 6),
    type: "public-key",
    authenticatorAttachment: null,
    getClientExtensionResults: () => ({}),
    response: { clientDataJSON: bytes(1), authenticatorData: bytes(3), signature: bytes(4), userHandle: bytes(0x31) },
  });
  assert.deepEqual(assertion.response, { clientDataJSON: "AQ", authenticatorData: "Aw", signature: "BA", userHandle: "MQ" });
  assert.equal(assertion.authenticatorAttachment, undefined);
});
