// The "API tokens" section of /account: create a token (name, scopes from what the member
// holds, expiry), see it once, list tokens with their last use, revoke them. Plain forms, no
// script: the new token is shown in a read-only field on the page that created it.

import { csrfInput, field } from './components.ts';
import { formatDateTime, formatRelative } from './format.ts';
import { html, type SafeHtml } from './html.ts';

export interface ViewApiToken {
  id: string;
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  expired: boolean;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
}

export interface ApiTokensSectionProps {
  csrfToken: string;
  tokens: ViewApiToken[];
  /** Scopes the member may put on a token, with a description where one is known. */
  grantable: Array<{ scope: string; description: string | null }>;
  /** Just created: shown once, never again. */
  created?: { token: string; name: string; warnings: string[] } | null;
  errors?: Record<string, string>;
  /** What the member submitted, kept when the form comes back with an error. */
  values?: { name?: string; scopes?: string[]; expires?: string };
  now: Date;
}

export const TOKEN_EXPIRY_CHOICES = [
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
  ['365d', '1 year'],
  ['never', 'Never (not recommended)'],
] as const;

function expiryCell(t: ViewApiToken, now: Date): SafeHtml {
  if (t.expired) return html`<span class="badge badge--danger">Expired</span>`;
  if (!t.expiresAt) return html`<span class="muted">Never</span>`;
  const soon = t.expiresAt.getTime() - now.getTime() < 7 * 86_400_000;
  return html`<time datetime="${t.expiresAt.toISOString()}">${formatDateTime(t.expiresAt)}</time>${soon ? html` <span class="badge">Soon</span>` : ''}`;
}

function tokenRow(t: ViewApiToken, csrfToken: string, now: Date): SafeHtml {
  return html`<tr class="token">
      <th scope="row" class="session__device" data-label="Name">${t.name}</th>
      <td data-label="Scopes"><ul class="scope-list">${t.scopes.map((s) => html`<li><code class="mono">${s}</code></li>`)}</ul></td>
      <td data-label="Expires">${expiryCell(t, now)}</td>
      <td data-label="Last used">${
        t.lastUsedAt
          ? html`<span class="session__time"><span class="session__relative">${formatRelative(t.lastUsedAt, now)}</span>
        <span class="session__absolute">${t.lastUsedIp ? html`from <span class="mono session__ip">${t.lastUsedIp}</span>` : ''}</span></span>`
          : html`<span class="muted">Never</span>`
      }</td>
      <td class="session__action"><form class="inline-form" method="post" action="/account/tokens/${t.id}/revoke">
          ${csrfInput(csrfToken)}
          <button class="button button--secondary button--small" type="submit">Revoke<span class="visually-hidden"> token ${t.name}</span></button>
        </form></td>
    </tr>`;
}

function createdBox(created: NonNullable<ApiTokensSectionProps['created']>): SafeHtml {
  return html`<div class="alert alert--success token-reveal" role="status">
    <div class="alert__body">
      <p><strong>Token “${created.name}” created.</strong> Copy it now: it will not be shown again.</p>
      <div class="field">
        <div class="field__head"><label for="new-token">Your new token</label></div>
        <input class="input mono" id="new-token" type="text" readonly value="${created.token}" autocomplete="off" spellcheck="false" aria-describedby="new-token-hint">
        <p class="field__hint" id="new-token-hint">Send it as <code class="mono">Authorization: Bearer &lt;token&gt;</code>.</p>
      </div>
      ${created.warnings.map((w) => html`<p>${w}</p>`)}
    </div>
  </div>`;
}

export function apiTokensSection(p: ApiTokensSectionProps): SafeHtml {
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  const chosen = new Set(values.scopes ?? []);
  const expires = values.expires ?? '30d';
  const scopeError = errors.scopes;
  const expiryError = errors.expires_in;
  return html`<section class="panel panel--wide" aria-labelledby="tokens-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="tokens-heading">API tokens</h2>
    <p class="panel__intro">Let scripts and tools act for you through the API, with only the permissions you choose.</p>
  </div>
  ${p.created ? createdBox(p.created) : ''}
  ${
    p.tokens.length === 0
      ? html`<p class="muted">You have no API tokens.</p>`
      : html`<div class="table-wrap"><table class="sessions">
    <caption class="visually-hidden">Your API tokens</caption>
    <thead><tr>
      <th scope="col">Name</th>
      <th scope="col">Scopes</th>
      <th scope="col">Expires</th>
      <th scope="col">Last used</th>
      <th scope="col"><span class="visually-hidden">Actions</span></th>
    </tr></thead>
    <tbody>
    ${p.tokens.map((t) => tokenRow(t, p.csrfToken, p.now))}
    </tbody>
  </table></div>`
  }
  <form class="form panel__foot token-form" method="post" action="/account/tokens">
    ${csrfInput(p.csrfToken)}
    <h3 class="section__title">Create a token</h3>
    ${field({ id: 'token-name', name: 'name', label: 'Name', value: values.name, required: true, hint: 'What it is for, such as “backup script”.', error: errors.name })}
    <fieldset class="field checks${scopeError ? ' field--invalid' : ''}"${scopeError ? html` aria-describedby="token-scopes-error"` : ''}>
      <legend>Scopes</legend>
      <p class="field__hint">A token can only do what you can. Choose the least it needs.</p>
      ${p.grantable.map(
        (g, i) => html`<div class="check">
        <input type="checkbox" id="token-scope-${i}" name="scopes" value="${g.scope}"${chosen.has(g.scope) ? html` checked` : ''}>
        <label for="token-scope-${i}"><code class="mono">${g.scope}</code>${g.description ? html` <span class="muted">— ${g.description}</span>` : ''}</label>
      </div>`,
      )}
      ${scopeError ? html`<p class="field__error" id="token-scopes-error" role="alert">${scopeError}</p>` : ''}
    </fieldset>
    <div class="field${expiryError ? ' field--invalid' : ''}">
      <div class="field__head"><label for="token-expires">Expires after</label></div>
      <select class="input" id="token-expires" name="expires_in"${expiryError ? html` aria-invalid="true" aria-describedby="token-expires-error"` : ''}>
        ${TOKEN_EXPIRY_CHOICES.map(([value, label]) => html`<option value="${value}"${value === expires ? html` selected` : ''}>${label}</option>`)}
      </select>
      ${expiryError ? html`<p class="field__error" id="token-expires-error" role="alert">${expiryError}</p>` : ''}
    </div>
    <div class="form__actions"><button class="button button--primary" type="submit">Create token</button></div>
  </form>
</section>`;
}
