// One page for errors (404, 403, 429, 500) and confirmations ("You have been signed out").

import { safeHref } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { layout, type ViewUser } from './layout.ts';

export function messagePage(p: {
  title: string;
  message: string;
  user: ViewUser | null;
  csrfToken: string;
  status?: number;
  action?: { href: string; label: string } | null;
}): SafeHtml {
  const isError = p.status !== undefined && p.status >= 400;
  const body = html`<div class="card card--auth card--message">
  ${isError ? html`<p class="card__eyebrow">Error ${p.status}</p>` : ''}
  <h1 class="card__title">${p.title}</h1>
  <p class="card__intro">${p.message}</p>
  ${p.action ? html`<p class="card__actions"><a class="button button--primary" href="${safeHref(p.action.href) ?? '/'}">${p.action.label}</a></p>` : ''}
</div>`;
  return layout({ title: p.title, user: p.user, csrfToken: p.csrfToken, body, narrow: true });
}
