// A stand-in for Amazon Cognito's Hosted UI and OAuth2 endpoints, for ferrometa's browser tests.
//
// oidc-provider (a complete, certified OpenID provider) behind express, shaped like Cognito:
//   issuer      http://<PUBLIC_HOST>:<port>/<POOL_ID>
//   discovery   /<pool>/.well-known/openid-configuration
//   JWKS        /<pool>/.well-known/jwks.json
//   endpoints   /<pool>/oauth2/authorize, /oauth2/token, /oauth2/userInfo, /oauth2/revoke,
//               /logout?client_id=…&logout_uri=… (Cognito's parameters, exact registered URI)
//   ID token    aud = client id, token_use = "id", cognito:username, cognito:groups, email,
//               email_verified (boolean), nonce; refresh tokens are not rotated (like Cognito)
//   login form  #signInFormUsername, #signInFormPassword, #signInSubmit; #signInCancel makes
//               the provider answer error=access_denied
// Test hooks (not Cognito): GET /test/stats (counts of authorize, token calls per grant type,
// revocations, logouts), GET /health.
//
// Environment:
//   PORT (0 = any free port), HOST (127.0.0.1), PUBLIC_HOST (host name in URLs, default HOST),
//   POOL_ID (us-east-1_LocalPool1),
//   CLIENTS_JSON  [{"client_id","client_secret"?,"auth_method"?: none|client_secret_basic|client_secret_post,
//                   "redirect_uris":[...],"logout_uris":[...]}]
//   USERS_JSON    [{"username","password","email","email_verified"?,"name"?,"groups"?}]
//   ID_TOKEN_TTL (seconds, ID tokens from the authorization code; default 3600)
//   REFRESHED_ID_TOKEN_TTL (seconds, ID tokens from a refresh; default 3600)
//   JWKS_FILE (a private JWK set to sign with; generated when absent)
// On start it prints one JSON line {"ready": true, "port", "issuer"} on stdout.

import crypto from 'node:crypto';
import fs from 'node:fs';

import express from 'express';
import Provider from 'oidc-provider';

const env = process.env;
const HOST = env.HOST || '127.0.0.1';
const PUBLIC_HOST = env.PUBLIC_HOST || HOST;
const POOL = env.POOL_ID || 'us-east-1_LocalPool1';
const ID_TOKEN_TTL = Number(env.ID_TOKEN_TTL || 3600);
const REFRESHED_ID_TOKEN_TTL = Number(env.REFRESHED_ID_TOKEN_TTL || 3600);
const CLIENTS = JSON.parse(env.CLIENTS_JSON || '[]');
const USERS = JSON.parse(env.USERS_JSON || '[]');

const stats = { authorize: 0, token: { total: 0, authorization_code: 0, refresh_token: 0, errors: 0 }, revoke: 0, logout: 0, logins: 0, failed_logins: 0 };

// Stable subjects, like Cognito's UUID `sub`.
function subOf(username) {
  const h = crypto.createHash('sha256').update(`${POOL}:${username}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const accounts = new Map(USERS.map((u) => [subOf(u.username), u]));
const byUsername = new Map(USERS.map((u) => [u.username.toLowerCase(), u]));

function signingKeys() {
  if (env.JWKS_FILE && fs.existsSync(env.JWKS_FILE)) return JSON.parse(fs.readFileSync(env.JWKS_FILE, 'utf8'));
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const keys = { keys: [{ ...jwk, kid: crypto.randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' }] };
  if (env.JWKS_FILE) fs.writeFileSync(env.JWKS_FILE, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function loginPage(uid, clientId, error) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Signin</title>
<style>body{font-family:Arial,sans-serif;background:#f4f4f4}.modal{width:340px;margin:60px auto;background:#fff;padding:24px;border-radius:4px;box-shadow:0 1px 4px #0003}
label{display:block;margin-top:12px}input{width:100%;padding:8px;box-sizing:border-box}button{margin-top:16px;width:100%;padding:10px;background:#ec7211;color:#fff;border:0;font-weight:700}
#signInCancel{background:#eee;color:#333}.err{color:#c00}</style></head><body><div class="modal">
<h1 style="font-size:18px">Sign in with your email and password</h1>
<p style="color:#666;font-size:13px">App client ${esc(clientId)} · Cognito-shaped test provider</p>
${error ? `<p id="loginErrorMessage" class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/${POOL}/login/${esc(uid)}">
<label for="signInFormUsername">Username</label><input id="signInFormUsername" name="username" autocomplete="username" autofocus>
<label for="signInFormPassword">Password</label><input id="signInFormPassword" name="password" type="password" autocomplete="current-password">
<button id="signInSubmit" type="submit" name="signInSubmitButton" value="Sign in">Sign in</button>
<button id="signInCancel" type="submit" name="cancel" value="1">Cancel</button>
</form></div></body></html>`;
}

const app = express();
app.disable('x-powered-by');
const server = app.listen(Number(env.PORT || 0), HOST, () => {
  const port = server.address().port;
  const issuer = `http://${PUBLIC_HOST}:${port}/${POOL}`;
  const provider = new Provider(issuer, {
    clients: CLIENTS.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      token_endpoint_auth_method: c.auth_method || (c.client_secret ? 'client_secret_basic' : 'none'),
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.logout_uris || [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    jwks: signingKeys(),
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    routes: {
      authorization: '/oauth2/authorize',
      token: '/oauth2/token',
      userinfo: '/oauth2/userInfo',
      revocation: '/oauth2/revoke',
      end_session: '/logout',
      jwks: '/.well-known/jwks.json',
    },
    claims: {
      openid: ['sub', 'token_use', 'cognito:username', 'cognito:groups'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Cognito puts the user's attributes into the ID token itself.
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      const user = accounts.get(id);
      if (!user) return undefined;
      return {
        accountId: id,
        async claims(use) {
          const claims = { sub: id, 'cognito:username': user.username, email: user.email, email_verified: user.email_verified !== false, name: user.name || user.username };
          // Like Cognito: groups and token_use are in tokens, not in userInfo.
          if (use === 'id_token') Object.assign(claims, { token_use: 'id', 'cognito:groups': user.groups || [] });
          return claims;
        },
      };
    },
    // Hosted UI apps have no consent screen: every client gets the scopes it asks for.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: false,
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/${POOL}/login/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // Cognito's /logout asks nothing: the confirmation form submits itself.
        async logoutSource(ctx, form) {
          ctx.body = `<!DOCTYPE html><html><head><title>Signing out</title></head><body>${form}
<input type="hidden" name="logout" value="yes" form="op.logoutForm"><noscript><button form="op.logoutForm">Sign out</button></noscript>
<script>document.getElementById('op.logoutForm').submit()</script></body></html>`;
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = '<!DOCTYPE html><html><body><p id="signedOut">Signed out.</p></body></html>';
        },
      },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 300,
      IdToken: (ctx) => (ctx?.oidc?.params?.grant_type === 'refresh_token' ? REFRESHED_ID_TOKEN_TTL : ID_TOKEN_TTL),
      RefreshToken: 30 * 86400,
      Interaction: 3600,
      Session: 3600,
      Grant: 3600,
    },
  });
  provider.on('grant.success', (ctx) => {
    const g = ctx.oidc.params.grant_type;
    if (g in stats.token) stats.token[g] += 1;
  });
  provider.on('grant.error', () => { stats.token.errors += 1; });

  const form = express.urlencoded({ extended: false });
  app.get('/health', (_req, res) => res.json({ ok: true }));
  app.get('/test/stats', (_req, res) => res.json(stats));
  // New authorization requests only (not the resumption after the login form).
  app.use(`/${POOL}/oauth2/authorize`, (req, _res, next) => { if (req.path === '/') stats.authorize += 1; next(); });
  app.post(`/${POOL}/oauth2/token`, (_req, _res, next) => { stats.token.total += 1; next(); });
  app.post(`/${POOL}/oauth2/revoke`, (_req, _res, next) => { stats.revoke += 1; next(); });
  // Cognito's logout: client_id + logout_uri (exactly as registered), mapped onto OIDC's
  // RP-initiated logout.
  app.get(`/${POOL}/logout`, (req, res, next) => {
    const { client_id: clientId, logout_uri: logoutUri } = req.query;
    if (logoutUri === undefined) return next();
    const client = CLIENTS.find((c) => c.client_id === clientId);
    if (!client || !(client.logout_uris || []).includes(logoutUri)) {
      return res.status(400).type('text').send('Invalid request: client_id or logout_uri is not registered');
    }
    stats.logout += 1;
    const q = new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: logoutUri });
    req.url = `${req.path}?${q}`;
    return next();
  });
  app.get(`/${POOL}/login/:uid`, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      res.type('html').send(loginPage(details.uid, details.params.client_id, ''));
    } catch (e) { next(e); }
  });
  app.post(`/${POOL}/login/:uid`, form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.body.cancel) {
        return await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user cancelled the sign-in' }, { mergeWithLastSubmission: false });
      }
      const user = byUsername.get(String(req.body.username || '').toLowerCase());
      if (!user || user.password !== req.body.password) {
        stats.failed_logins += 1;
        return res.status(200).type('html').send(loginPage(details.uid, details.params.client_id, 'Incorrect username or password.'));
      }
      stats.logins += 1;
      return await provider.interactionFinished(req, res, { login: { accountId: subOf(user.username) } }, { mergeWithLastSubmission: false });
    } catch (e) { return next(e); }
  });
  app.use(`/${POOL}`, provider.callback());
  process.stdout.write(`${JSON.stringify({ ready: true, port, issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
