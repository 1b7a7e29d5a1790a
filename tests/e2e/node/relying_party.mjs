// A relying party written the way openid-client's own README writes one: another web
// application that signs its users in with face_auth. Not face_auth code, and on the library's
// defaults: discovery, PKCE S256 with no `state` when the provider lists S256, the secret sent
// with client_secret_post, the ID token and userinfo as openid-client checks them. The only
// option is `allowInsecureRequests`, and only for http on the loopback interface.
//
// One stricter check is added: `enableNonRepudiationChecks` verifies the ID token's signature
// against the provider's jwks_uri (openid-client skips it by default for a token received over
// TLS from the token endpoint).
//
// Run by the tests: RP_ISSUER=... RP_CLIENT_ID=... RP_CLIENT_SECRET=... RP_PORT=... node
// relying_party.mjs. Pages: / (who is signed in), /login, /callback; /session.json for tests.

import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import * as client from 'openid-client'

const issuer = new URL(process.env.RP_ISSUER)
const port = Number(process.env.RP_PORT)
const callback = `http://127.0.0.1:${port}/callback`
const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname)

const execute = [client.enableNonRepudiationChecks]
if (issuer.protocol === 'http:' && loopback) execute.push(client.allowInsecureRequests)
const config = await client.discovery(
  issuer,
  process.env.RP_CLIENT_ID,
  process.env.RP_CLIENT_SECRET,
  undefined,
  { execute },
)

const sessions = new Map() // the RP's own sessions, by cookie

function sessionOf (request, response) {
  const cookie = /(?:^|;\s*)rp_session=([A-Za-z0-9_-]+)/.exec(request.headers.cookie ?? '')
  if (cookie && sessions.has(cookie[1])) return sessions.get(cookie[1])
  const id = randomBytes(16).toString('base64url')
  const session = {}
  sessions.set(id, session)
  response.setHeader('Set-Cookie', `rp_session=${id}; HttpOnly; SameSite=Lax; Path=/`)
  return session
}

const escape = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page (response, body, status = 200) {
  response.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' })
  response.end(`<!doctype html><html><head><title>Example RP</title></head><body>${body}</body></html>`)
}

function redirect (response, location, status = 302) {
  response.writeHead(status, { Location: location })
  response.end()
}

function headerOf (jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString())
}

async function login (session, response) {
  const codeVerifier = client.randomPKCECodeVerifier()
  const parameters = {
    redirect_uri: callback,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  }
  // The README's rule: state only when the provider does not support PKCE.
  let state
  if (!config.serverMetadata().supportsPKCE()) {
    state = client.randomState()
    parameters.state = state
  }
  session.pending = { codeVerifier, state }
  delete session.user
  redirect(response, client.buildAuthorizationUrl(config, parameters).href)
}

async function finish (session, request, response) {
  const { codeVerifier, state } = session.pending ?? {}
  delete session.pending
  try {
    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(request.url, callback),
      { pkceCodeVerifier: codeVerifier, expectedState: state, idTokenExpected: true },
    )
    const claims = tokens.claims()
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    session.user = {
      sub: claims.sub,
      email: claims.email,
      name: claims.name,
      amr: (claims.amr ?? []).join(' '),
      acr: claims.acr,
      auth_time: claims.auth_time,
      alg: headerOf(tokens.id_token).alg,
      kid: headerOf(tokens.id_token).kid,
      userinfo_email: userinfo.email,
      userinfo,
      access_token: tokens.access_token,
    }
    redirect(response, '/', 303)
  } catch (error) {
    session.error = { error: error.error ?? error.code ?? 'error', message: error.message }
    const body = `<h1>Sign-in failed</h1><p id="error">${escape(session.error.error)}</p>` +
      `<p id="message">${escape(error.message)}</p>`
    page(response, body, 400)
  }
}

function home (session, response) {
  const user = session.user
  if (!user) {
    page(response, '<h1>Example RP</h1><a id="sign-in" href="/login">Sign in with face_auth</a>')
    return
  }
  const rows = ['email', 'name', 'sub', 'amr', 'acr', 'kid', 'userinfo_email']
    .map((name) => `<dt>${name}</dt><dd id="${name}">${escape(user[name])}</dd>`)
    .join('')
  page(response, `<h1>Signed in to Example RP</h1><dl>${rows}</dl>` +
    '<a id="sign-in-again" href="/login">Sign in again</a>')
}

createServer(async (request, response) => {
  const session = sessionOf(request, response)
  const path = new URL(request.url, callback).pathname
  if (path === '/') return home(session, response)
  if (path === '/login') return login(session, response)
  if (path === '/callback') return finish(session, request, response)
  if (path === '/session.json') {
    response.writeHead(200, { 'Content-Type': 'application/json' })
    return response.end(JSON.stringify({ user: session.user ?? null, error: session.error ?? null }))
  }
  page(response, '<h1>Not found</h1>', 404)
}).listen(port, '127.0.0.1', () => console.log(`relying party on ${callback}`))
