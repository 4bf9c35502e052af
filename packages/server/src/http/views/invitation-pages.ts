// /invite/<token>: the invitation landing page, for a link that is genuine and still usable, one
// that was revoked, expired or used up, and one that is not genuine.

import { alertBox, csrfInput } from './components.ts';
import { formatDateTime } from './format.ts';
import type { ViewInvitation } from './groups-pages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout, type ViewUser } from './layout.ts';

const CLOSED: Record<'revoked' | 'expired' | 'used-up', [string, string]> = {
  revoked: [
    'This invitation was withdrawn',
    'The person who sent it has revoked it, or can no longer invite people. Ask them for a new link.',
  ],
  expired: ['This invitation has expired', 'Ask the person who sent it for a new link.'],
  'used-up': [
    'This invitation has been used up',
    'It has already been used by as many people as it allows. Ask the person who sent it for a new link.',
  ],
};

/** /invite/<token>: what the invitation offers, and the way to accept it. */
export function invitePage(p: {
  user: ViewUser | null;
  csrfToken: string;
  token: string;
  invitation: ViewInvitation | null;
  registrationAllowed: boolean;
  error?: string | null;
}): SafeHtml {
  const inv = p.invitation;
  let body: SafeHtml;
  if (!inv) {
    body = html`<div class="card card--auth card--message">
  <h1 class="card__title">This invitation link is not valid</h1>
  <p class="card__intro">Check that you copied the whole link, or ask for a new one.</p>
</div>`;
  } else if (inv.status !== 'pending') {
    const [title, text] = CLOSED[inv.status];
    body = html`<div class="card card--auth card--message">
  <p class="card__eyebrow">Invitation to <span class="mono">${inv.groupPath}</span></p>
  <h1 class="card__title">${title}</h1>
  <p class="card__intro">${text}</p>
</div>`;
  } else {
    const login = `/login?return_to=${encodeURIComponent(`/invite/${p.token}`)}`;
    const action = p.user
      ? html`<form class="form" method="post" action="/invite/${p.token}/accept">
    ${csrfInput(p.csrfToken)}
    <p>You are signed in as <strong>${p.user.username}</strong>.</p>
    <button class="button button--primary button--block" type="submit">Join ${inv.groupPath}</button>
  </form>`
      : html`<p class="card__actions button-row"><a class="button button--primary" href="${login}">Sign in to accept</a>${p.registrationAllowed ? html` <a class="button button--secondary" href="/invite/${p.token}/register">Create an account</a>` : ''}</p>`;
    body = html`<div class="card card--auth">
  <p class="card__eyebrow">Invitation</p>
  <h1 class="card__title">Join <span class="mono">${inv.groupPath}</span></h1>
  <p class="card__intro">${inv.createdByUsername ?? 'An administrator'} invites you to join as ${inv.role === 'owner' ? 'an owner' : 'a member'}.${inv.shareDepth > 0 ? ' You will be able to invite others too.' : ''}</p>
  ${p.error ? alertBox('error', [p.error]) : ''}
  <dl class="readonly">
    <dt>Valid until</dt><dd><time datetime="${inv.expiresAt.toISOString()}">${formatDateTime(inv.expiresAt)}</time></dd>
  </dl>
  ${action}
</div>`;
  }
  return layout({ title: 'Invitation', user: p.user, csrfToken: p.csrfToken, body, narrow: true });
}
