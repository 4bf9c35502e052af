// The member's own account: profile, password and the sessions signed in to it.

import { type ApiTokensSectionProps, apiTokensSection } from './api-tokens-section.ts';
import { avatar, csrfInput, field, formErrors, type Notice } from './components.ts';
import {
  connectedServicesSection,
  type ViewConnectedService,
} from './connected-services-section.ts';
import { describeUserAgent, formatDateTime, formatRelative } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { displayName, layout, type ViewUser } from './layout.ts';

export interface ViewSession {
  id: string;
  current: boolean;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
}

export interface AccountPageProps {
  user: ViewUser;
  csrfToken: string;
  sessions: ViewSession[];
  notice?: Notice | null;
  /** Field name → message, shown at that field; other keys are shown above the sections. */
  errors?: Record<string, string>;
  /** For relative times ("5 minutes ago"); defaults to the time of rendering. */
  now?: Date;
  /** The services the member allowed (remembered consents), when the page shows them. */
  services?: ViewConnectedService[] | null;
  /** The API tokens section; its own errors and values travel inside. */
  apiTokens?: Omit<ApiTokensSectionProps, 'csrfToken' | 'now'> | null;
  /** The "My groups" panel (views/groups-pages.ts), when the account page shows it. */
  groups?: SafeHtml | null;
}

const ACCOUNT_FIELDS = [
  'name',
  'email',
  'picture_url',
  'current_password',
  'new_password',
  'new_password_confirm',
] as const;

function timeCell(date: Date, now: Date, relative: boolean): SafeHtml {
  const absolute = html`<time datetime="${date.toISOString()}">${formatDateTime(date)}</time>`;
  if (!relative) return html`<span class="session__time">${absolute}</span>`;
  return html`<span class="session__time"><span class="session__relative">${formatRelative(date, now)}</span>
        <span class="session__absolute">${absolute}</span></span>`;
}

function sessionRow(s: ViewSession, csrfToken: string, now: Date): SafeHtml {
  const device = describeUserAgent(s.userAgent);
  // Visually "Sign out"; to a screen reader, which session it signs out.
  const which = `${device}${s.ip ? `, ${s.ip}` : ''}, last active ${formatRelative(s.lastSeenAt, now)}`;
  return html`<tr class="session${s.current ? ' session--current' : ''}">
      <th scope="row" class="session__device" data-label="Device">
        <span class="session__name"${s.userAgent ? html` title="${s.userAgent}"` : ''}>${device}</span>
        ${s.current ? html`<span class="badge">This device</span>` : ''}
      </th>
      <td data-label="IP address">${s.ip ? html`<span class="mono session__ip">${s.ip}</span>` : html`<span class="muted">Unknown</span>`}</td>
      <td data-label="Signed in">${timeCell(s.createdAt, now, false)}</td>
      <td data-label="Last active">${timeCell(s.lastSeenAt, now, true)}</td>
      <td class="session__action">${
        s.current
          ? ''
          : html`<form class="inline-form" method="post" action="/account/sessions/${s.id}/revoke">
          ${csrfInput(csrfToken)}
          <button class="button button--secondary button--small" type="submit">Sign out<span class="visually-hidden"> session: ${which}</span></button>
        </form>`
      }</td>
    </tr>`;
}

function sessionsSection(sessions: ViewSession[], csrfToken: string, now: Date): SafeHtml {
  // The current session first, the rest in the order given (most recent first, by convention).
  const ordered = [...sessions].sort((a, b) => Number(b.current) - Number(a.current));
  const others = sessions.filter((s) => !s.current).length;
  return html`<section class="panel panel--wide" aria-labelledby="sessions-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="sessions-heading">Sessions</h2>
    <p class="panel__intro">Where your account is signed in. Sign out anywhere you don't recognise.</p>
  </div>
  ${
    ordered.length === 0
      ? html`<p class="muted">No active sessions.</p>`
      : html`<div class="table-wrap"><table class="sessions">
    <caption class="visually-hidden">Signed-in sessions</caption>
    <thead><tr>
      <th scope="col">Device</th>
      <th scope="col">IP address</th>
      <th scope="col">Signed in</th>
      <th scope="col">Last active</th>
      <th scope="col"><span class="visually-hidden">Actions</span></th>
    </tr></thead>
    <tbody>
    ${ordered.map((s) => sessionRow(s, csrfToken, now))}
    </tbody>
  </table></div>`
  }
  ${
    others > 0
      ? html`<form class="panel__foot" method="post" action="/account/sessions/revoke-others">
    ${csrfInput(csrfToken)}
    <button class="button button--danger" type="submit">Sign out all other sessions</button>
    <span class="muted">${others === 1 ? '1 other session' : `${others} other sessions`}</span>
  </form>`
      : html`<p class="panel__foot muted">This is the only place your account is signed in.</p>`
  }
</section>`;
}

// The password form carries a hidden, unnamed username input: password managers learn whose
// password is changing, and nothing extra is submitted.
export function accountPage(p: AccountPageProps): SafeHtml {
  const errors = p.errors ?? {};
  const now = p.now ?? new Date();
  const general = formErrors(p.errors, ACCOUNT_FIELDS, 'account-error');
  const name = displayName(p.user);
  const body = html`<div class="page-head page-head--with-avatar">
  ${avatar({ name, pictureUrl: p.user.pictureUrl, size: 'lg' })}
  <div>
    <h1 class="page-head__title">Your account</h1>
    <p class="page-head__intro">Signed in as <strong>${p.user.username}</strong></p>
  </div>
</div>
${general.markup}
<div class="panels">
<section class="panel" aria-labelledby="profile-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="profile-heading">Profile</h2>
    <p class="panel__intro">What services see when you sign in to them.</p>
  </div>
  <form class="form" method="post" action="/account/profile">
    ${csrfInput(p.csrfToken)}
    <dl class="readonly">
      <dt>Username</dt>
      <dd><span class="mono">${p.user.username}</span> <span class="muted">(cannot be changed)</span></dd>
    </dl>
    ${field({ id: 'profile-name', name: 'name', label: 'Display name', value: p.user.name, autocomplete: 'name', optional: true, error: errors.name })}
    ${field({ id: 'profile-email', name: 'email', label: 'Email', type: 'email', value: p.user.email, autocomplete: 'email', required: true, verbatim: true, error: errors.email })}
    ${field({ id: 'profile-picture-url', name: 'picture_url', label: 'Picture URL', type: 'url', value: p.user.pictureUrl, autocomplete: 'photo', optional: true, verbatim: true, hint: 'A link to a square image starting with https://', error: errors.picture_url })}
    <div class="form__actions"><button class="button button--primary" type="submit">Save profile</button></div>
  </form>
</section>
<section class="panel" aria-labelledby="password-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="password-heading">Password</h2>
    <p class="panel__intro">Other sessions will be signed out.</p>
  </div>
  <form class="form" method="post" action="/account/password">
    ${csrfInput(p.csrfToken)}
    <input type="text" hidden value="${p.user.username}" autocomplete="username">
    ${field({ id: 'password-current', name: 'current_password', label: 'Current password', type: 'password', autocomplete: 'current-password', required: true, error: errors.current_password })}
    ${field({ id: 'password-new', name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 10 characters', error: errors.new_password })}
    ${field({ id: 'password-new-confirm', name: 'new_password_confirm', label: 'Confirm new password', type: 'password', autocomplete: 'new-password', required: true, error: errors.new_password_confirm })}
    <div class="form__actions"><button class="button button--primary" type="submit">Change password</button></div>
  </form>
</section>
${sessionsSection(p.sessions, p.csrfToken, now)}
${p.services ? connectedServicesSection({ services: p.services, csrfToken: p.csrfToken }) : ''}
${p.apiTokens ? apiTokensSection({ ...p.apiTokens, csrfToken: p.csrfToken, now }) : ''}
${p.groups ?? ''}
</div>`;
  return layout({
    title: 'Your account',
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    notice: p.notice ?? null,
    active: 'account',
  });
}
