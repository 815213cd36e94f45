// WebAuthn ceremonies with the JSON that allauth exchanges, where binary values are base64url strings.

export function base64urlToBuffer(value) {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/')
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4)
  const binary = atob(padded)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes.buffer
}

export function bufferToBase64url(buffer) {
  const bytes = new Uint8Array(buffer)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function descriptorsFromJSON(list) {
  return (list || []).map((descriptor) => ({ ...descriptor, id: base64urlToBuffer(descriptor.id) }))
}

export function creationOptionsFromJSON(options, passwordless) {
  const publicKey = structuredClone(options.publicKey)
  publicKey.challenge = base64urlToBuffer(publicKey.challenge)
  publicKey.user = { ...publicKey.user, id: base64urlToBuffer(publicKey.user.id) }
  publicKey.excludeCredentials = descriptorsFromJSON(publicKey.excludeCredentials)
  if (passwordless !== undefined) {
    // The server prepared a plain security key; a passkey must live on the authenticator and verify the person.
    const selection = { ...(publicKey.authenticatorSelection || {}) }
    selection.residentKey = passwordless ? 'required' : 'discouraged'
    selection.requireResidentKey = passwordless
    if (passwordless) selection.userVerification = 'required'
    publicKey.authenticatorSelection = selection
  }
  return { publicKey }
}

export function requestOptionsFromJSON(options) {
  const publicKey = structuredClone(options.publicKey)
  publicKey.challenge = base64urlToBuffer(publicKey.challenge)
  publicKey.allowCredentials = descriptorsFromJSON(publicKey.allowCredentials)
  const request = { publicKey }
  if (options.mediation) request.mediation = options.mediation
  return request
}

export function credentialToJSON(credential) {
  const { response } = credential
  const json = {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: bufferToBase64url(response.clientDataJSON) },
  }
  if (response.attestationObject) {
    json.response.attestationObject = bufferToBase64url(response.attestationObject)
    if (response.getTransports) json.response.transports = response.getTransports()
  } else {
    json.response.authenticatorData = bufferToBase64url(response.authenticatorData)
    json.response.signature = bufferToBase64url(response.signature)
    if (response.userHandle) json.response.userHandle = bufferToBase64url(response.userHandle)
  }
  return json
}

export function supported() {
  return Boolean(window.PublicKeyCredential && navigator.credentials)
}

export async function createCredential(options, passwordless) {
  const credential = await navigator.credentials.create(creationOptionsFromJSON(options, passwordless))
  return credentialToJSON(credential)
}

export async function getCredential(options) {
  const credential = await navigator.credentials.get(requestOptionsFromJSON(options))
  return credentialToJSON(credential)
}
